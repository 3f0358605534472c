"""The tutorchat.1 wire protocol: frames, parsing and encoding, with no I/O."""
