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

/// The document's zip: every attachment and every signature, stored (not compressed), with
/// fixed timestamps so the same document always gives the same bytes.
pub(crate) fn archive(doc: &StoredDoc) -> Vec<u8> {
    let mut entries: Vec<(String, &[u8])> = Vec::new();
    let mut names = HashSet::new();
    let mut unique = |name: String| {
        let mut candidate = name.clone();
        let mut n = 1;
        while !names.insert(candidate.clone()) {
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
    let dos_time =
        (u16::from(t.hour()) << 11) | (u16::from(t.minute()) << 5) | u16::from(t.second() / 2);
    let year = u16::try_from(t.year().clamp(1980, 2107) - 1980).unwrap_or(0);
    let dos_date = (year << 9) | (u16::from(u8::from(t.month())) << 5) | u16::from(t.day());
    zip_store(&entries, dos_time, dos_date)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// A minimal zip writer (method "stored", UTF-8 names).
fn zip_store(entries: &[(String, &[u8])], dos_time: u16, dos_date: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let flags: u16 = 1 << 11;
    for (name, data) in entries {
        let offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
        let crc = crc32(data);
        let size = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let name_len = u16::try_from(name.len()).unwrap_or(u16::MAX);
        let name_bytes = &name.as_bytes()[..usize::from(name_len)];
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&dos_time.to_le_bytes());
        out.extend_from_slice(&dos_date.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name_bytes);
        out.extend_from_slice(data);

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&flags.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&dos_time.to_le_bytes());
        central.extend_from_slice(&dos_date.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name_bytes);
    }
    let central_offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
    let central_size = u32::try_from(central.len()).unwrap_or(u32::MAX);
    let count = u16::try_from(entries.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_reference_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn zip_has_signatures_and_listing() {
        let data: &[u8] = b"hello";
        let zip = zip_store(&[("a.txt".to_owned(), data)], 0, 0);
        assert_eq!(&zip[..4], b"PK\x03\x04");
        assert!(zip.windows(4).any(|w| w == b"PK\x01\x02"));
        assert!(zip.windows(4).any(|w| w == b"PK\x05\x06"));
        assert!(zip.windows(5).any(|w| w == b"hello"));
    }
}
