//! Wire format v2 (see wire.md): encoder, packetizer, CRC.
