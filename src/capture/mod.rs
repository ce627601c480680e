//! Capture side of wire v2: frame parser, reassembler, strict decoder, expansion to JSON.
