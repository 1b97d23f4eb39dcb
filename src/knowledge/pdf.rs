//! Text of a PDF document (runbooks and manuals often come as PDF), by the
//! pdf-extract crate. Its parser panics on some malformed files: that is caught
//! and reported as a bad document, never taken down with the caller.

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("not a PDF (it does not start with %PDF-)")]
    NotPdf,
    #[error("the PDF cannot be read: {0}")]
    Unreadable(String),
    #[error(
        "the PDF has no text to extract (scanned pages are images: run them through OCR first)"
    )]
    NoText,
}

/// Whether `bytes` look like a PDF file.
pub fn is_pdf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"%PDF-")
}

/// The text of every page, in order.
pub fn text(bytes: &[u8]) -> Result<String, PdfError> {
    if !is_pdf(bytes) {
        return Err(PdfError::NotPdf);
    }
    let extracted = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes))
        .map_err(|p| {
            let why = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "the parser gave up".into());
            PdfError::Unreadable(why)
        })?
        .map_err(|e| PdfError::Unreadable(e.to_string()))?;
    if extracted.trim().is_empty() {
        return Err(PdfError::NoText);
    }
    Ok(extracted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(text(b"hello"), Err(PdfError::NotPdf)));
        assert!(matches!(
            text(b"%PDF-1.5\nthis is not a pdf at all"),
            Err(PdfError::Unreadable(_))
        ));
    }
}
