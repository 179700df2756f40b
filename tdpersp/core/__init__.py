"""What every stage shares: settings (`config`), the TDengine connection (`tdconn`), SQL names and
timestamp precisions (`tdsql`), what a dataset is (`dataset`), the trades data model (`schema`,
`trades`), the smart meters (`meters`) and the writer that puts a dataset into TDengine (`writer`).

Imports nothing else of tdpersp.
"""
