//! Precompression: a `.br` (brotli, quality 11) and a `.gz` (gzip, level 9) beside every file
//! a browser downloads, written once at build time, so that a server sends the smallest
//! encoding the browser accepts without compressing per request (the proxy's
//! `ServeDir::precompressed_*`; nginx's `gzip_static`/`brotli_static`; most CDNs).

use anyhow::Context;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::Path;

/// The kinds of file compressed; images and the like are compressed already.
const COMPRESSIBLE: [&str; 6] = ["js", "css", "wasm", "html", "json", "svg"];

/// Writes `file.br` and `file.gz` beside every compressible file of `dir`.
pub fn precompress_folder(dir: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let compressible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSIBLE.contains(&e));
        if path.is_file() && compressible {
            precompress_file(&path)?;
        }
    }
    Ok(())
}

/// Writes `path.br` and `path.gz`, each only when it is smaller than the file (a file that does
/// not shrink is sent as it is).
pub fn precompress_file(path: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path)?;
    for (suffix, compressed) in [("br", brotli(&bytes)?), ("gz", gzip(&bytes)?)] {
        if compressed.len() < bytes.len() {
            let mut name = path.as_os_str().to_owned();
            name.push(".");
            name.push(suffix);
            std::fs::write(&name, compressed)
                .with_context(|| format!("writing {}.{suffix}", path.display()))?;
        }
    }
    Ok(())
}

/// Brotli at its best quality and a 4 MiB window.
pub fn brotli(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

/// Gzip at its best level, without a file name or time in its header (so builds are equal).
pub fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn both_encodings_give_the_bytes_back_and_brotli_is_smaller() {
        let text = "the same line again and again, with a few words more\n".repeat(500);
        let br = brotli(text.as_bytes()).unwrap();
        let gz = gzip(text.as_bytes()).unwrap();
        assert!(br.len() < gz.len() && gz.len() < text.len() / 10);
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, text);
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut back).unwrap();
        assert_eq!(back, text.as_bytes());
    }
}
