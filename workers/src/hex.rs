//! Bytes as lowercase hexadecimal, the one way every connector writes them: PostgreSQL's `bytea` and `uuid`,
//! MongoDB's UUID binaries, the SHA-256 of a DuckDB source's files.

/// `bytes` as lowercase hex, two digits a byte.
pub(crate) fn lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A UUID's 16 bytes in the hyphenated form (`8-4-4-4-12` lowercase hex digits), as PostgreSQL and MongoDB print it.
pub(crate) fn uuid(bytes: &[u8; 16]) -> String {
    let hex = lower(bytes);
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_and_uuids_read_as_lowercase_hex() {
        assert_eq!(super::lower(&[0x00, 0xab, 0x7f]), "00ab7f");
        assert_eq!(super::lower(&[]), "");
        let bytes: [u8; 16] = std::array::from_fn(|i| (i as u8) * 17);
        assert_eq!(super::uuid(&bytes), "00112233-4455-6677-8899-aabbccddeeff");
    }
}
