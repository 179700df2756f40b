"""prsp-viewer.html in headless Chromium over the real stack (stand-in TDengine, producer, server)."""
