"""What every stage shares: settings (`config`), the TDengine connection (`tdconn`), SQL names and
timestamp precisions (`tdsql`), the trades data model (`schema`, `trades`) and the writer that
puts trades into TDengine (`writer`).

Imports nothing else of tdpersp.
"""
