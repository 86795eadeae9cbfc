//! What a rule condition sees about one device.
