//! Zips built in memory, for tests that serve or check a document's zip.

use std::io::Write as _;

/// A deflated zip of `(name, bytes)` entries, in that order.
///
/// # Panics
///
/// When the zip cannot be written (never for in-memory entries with plain names); this is
/// a test helper.
#[allow(clippy::expect_used)] // a test helper: a failure is the test's report
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, options).expect("start a zip entry");
        w.write_all(bytes).expect("write a zip entry");
    }
    w.finish().expect("finish the zip").into_inner()
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::zip_of;

    #[test]
    fn the_zip_holds_each_entry_in_order() {
        let bytes = zip_of(&[("a.pdf", b"PDF"), ("a.pdf.p7s", b"SIG")]);
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(zip.len(), 2);
        for (i, (name, body)) in [("a.pdf", "PDF"), ("a.pdf.p7s", "SIG")].iter().enumerate() {
            let mut entry = zip.by_index(i).unwrap();
            assert_eq!(entry.name().unwrap(), *name);
            assert_eq!(entry.compression(), zip::CompressionMethod::Deflated);
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            assert_eq!(text, *body);
        }
    }
}
