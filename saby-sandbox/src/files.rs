//! GET downloads: attachments, signatures, PDF and HTML renderings, and the document zip.

use std::collections::HashSet;

use crate::documents::tiny_pdf;
use crate::misc::xml_to_html;
use crate::rpc::{RpcError, decode_segment};
use crate::state::{State, StoredDoc, StoredFile, xml_escape};

/// A download answer.
#[derive(Debug)]
pub(crate) struct Download {
    pub(crate) content_type: String,
    pub(crate) file_name: String,
    pub(crate) bytes: Vec<u8>,
}

/// Whether a download path needs a session (the counterparty link does not).
pub(crate) fn needs_session(path: &str) -> bool {
    !path.starts_with("/sandbox/share/")
}

fn content_type(name: &str) -> &'static str {
    let lower = name.to_lowercase();
    match lower.rsplit('.').next() {
        Some("pdf") => "application/pdf",
        Some("xml") => "application/xml",
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("p7s") => "application/pkcs7-signature",
        Some("zip") => "application/zip",
        Some("json") => "application/json",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

fn not_found(what: &str) -> RpcError {
    RpcError::not_found(format!("{what} не найден"))
}

fn find_doc<'a>(st: &'a State, segment: &str) -> Result<&'a StoredDoc, RpcError> {
    let id = decode_segment(segment).ok_or_else(|| not_found("Документ"))?;
    st.docs.get(&id).ok_or_else(|| not_found("Документ"))
}

fn find_file<'a>(doc: &'a StoredDoc, segment: &str) -> Result<&'a StoredFile, RpcError> {
    let id = decode_segment(segment).ok_or_else(|| not_found("Файл"))?;
    doc.file(&id).ok_or_else(|| not_found("Файл"))
}

/// Serves a GET under `/sandbox/`.
pub(crate) fn download(st: &State, path: &str) -> Result<Download, RpcError> {
    let parts: Vec<&str> = path
        .trim_start_matches("/sandbox/")
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    match parts.as_slice() {
        ["file", doc, file] => {
            let doc = find_doc(st, doc)?;
            let f = find_file(doc, file)?;
            Ok(Download {
                content_type: content_type(&f.file_name).to_owned(),
                file_name: f.file_name.clone(),
                bytes: f.bytes.clone(),
            })
        }
        ["signature", doc, file, n] => {
            let doc = find_doc(st, doc)?;
            let f = find_file(doc, file)?;
            let sig = n
                .parse::<usize>()
                .ok()
                .and_then(|n| f.signatures.get(n))
                .ok_or_else(|| not_found("Файл подписи"))?;
            Ok(Download {
                content_type: content_type("x.p7s").to_owned(),
                file_name: sig.file_name.clone(),
                bytes: sig.bytes.clone(),
            })
        }
        ["pdf", doc] => {
            let doc = find_doc(st, doc)?;
            let title = format!("Document {}", doc.id);
            Ok(Download {
                content_type: content_type("x.pdf").to_owned(),
                file_name: "document.pdf".to_owned(),
                bytes: tiny_pdf(&title),
            })
        }
        ["pdf", doc, file] => {
            let doc = find_doc(st, doc)?;
            let f = find_file(doc, file)?;
            let bytes = if content_type(&f.file_name) == "application/pdf" {
                f.bytes.clone()
            } else {
                tiny_pdf(&format!("Attachment {}", f.id))
            };
            Ok(Download {
                content_type: content_type("x.pdf").to_owned(),
                file_name: format!("{}.pdf", f.file_name),
                bytes,
            })
        }
        ["html", doc, file] => {
            let doc = find_doc(st, doc)?;
            let f = find_file(doc, file)?;
            let text = String::from_utf8_lossy(&f.bytes);
            Ok(Download {
                content_type: content_type("x.html").to_owned(),
                file_name: format!("{}.html", f.file_name),
                bytes: xml_to_html(&text).into_bytes(),
            })
        }
        ["archive", name] => {
            let id = name
                .strip_suffix(".zip")
                .ok_or_else(|| not_found("Архив"))?;
            let doc = find_doc(st, id)?;
            Ok(Download {
                content_type: content_type("x.zip").to_owned(),
                file_name: "document.zip".to_owned(),
                bytes: archive(doc),
            })
        }
        ["share", doc] => {
            let doc = find_doc(st, doc)?;
            let html = format!(
                "<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Документ</title></head>\
                 <body><h1>{}</h1><p>Состояние: {}</p></body></html>\n",
                xml_escape(doc.text_field("Название")),
                doc.state.name()
            );
            Ok(Download {
                content_type: content_type("x.html").to_owned(),
                file_name: "document.html".to_owned(),
                bytes: html.into_bytes(),
            })
        }
        _ => Err(RpcError::not_found(format!("Адрес «{path}» не найден"))),
    }
}

/// The document's zip: every attachment and every signature (the service documents —
/// receipts, notices — and theirs under `Служебные/`), deflated, with the document's creation
/// time on every entry so that the same document always gives the same bytes. A real zip
/// (the `zip` crate), so a client can open it and check every file. What Saby's own zip
/// holds is public only in outline (its help page: "a zip archive file with all attachments
/// and e-signatures"); its layout is not, so this one is the sandbox's choice.
pub(crate) fn archive(doc: &StoredDoc) -> Vec<u8> {
    let mut entries: Vec<(String, &[u8])> = Vec::new();
    let mut names = HashSet::new();
    let mut unique = |name: String| {
        let mut candidate = name.clone();
        let mut n = 1;
        while !names.insert(candidate.to_lowercase()) {
            n += 1;
            candidate = format!("{n}_{name}");
        }
        candidate
    };
    for f in &doc.attachments {
        let dir = if f.service { "Служебные/" } else { "" };
        entries.push((unique(format!("{dir}{}", f.file_name)), &f.bytes));
        for s in &f.signatures {
            entries.push((unique(format!("{dir}{}", s.file_name)), &s.bytes));
        }
    }
    let t = doc.created;
    let modified = zip::DateTime::from_date_and_time(
        u16::try_from(t.year().clamp(1980, 2107)).unwrap_or(1980),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
    .unwrap_or_default();
    zip_deflated(&entries, modified).unwrap_or_default()
}

/// Writes `entries` into a zip in memory (deflated, UTF-8 names, `0600` entries).
fn zip_deflated(
    entries: &[(String, &[u8])],
    modified: zip::DateTime,
) -> zip::result::ZipResult<Vec<u8>> {
    use std::io::Write as _;
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(modified)
        .unix_permissions(0o600);
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        writer.start_file(name.as_str(), options)?;
        writer.write_all(data)?;
    }
    Ok(writer.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn the_zip_opens_and_holds_every_entry() {
        let data: &[u8] = b"hello hello hello hello";
        let zip = zip_deflated(
            &[
                ("a.txt".to_owned(), data),
                ("Служебные/квитанция.xml".to_owned(), b"<x/>".as_slice()),
            ],
            zip::DateTime::default(),
        )
        .unwrap();
        assert_eq!(&zip[..4], b"PK\x03\x04");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        assert_eq!(archive.len(), 2);
        let mut entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "a.txt");
        assert_eq!(entry.compression(), zip::CompressionMethod::Deflated);
        let mut read = Vec::new();
        entry.read_to_end(&mut read).unwrap();
        assert_eq!(read, data);
        drop(entry);
        assert_eq!(
            archive.by_index(1).unwrap().name().unwrap(),
            "Служебные/квитанция.xml"
        );
    }
}
