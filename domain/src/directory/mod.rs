//! The national directory (issue 18): the public extractions of the Annuaire Santé (professionals
//! and their activities) and of FINESS (establishments), read as streams, one line at a time, so
//! that a file of 0.8 GB and 2.3 million lines is read in constant memory.
//!
//! [`load`] puts a file in PostgreSQL whole (staging tables, one swap); verifying RPPS numbers
//! against it and the public « Annuaire » page read what it loaded.
//!
//! - [`professionals`]: `PS_LibreAcces_Personne_activite_*.txt`, columns found by their names.
//! - [`establishments`]: `etalab-cs1100507-stock-*.csv`, the `structureet` lines.
//!
//! A file whose header lacks a needed column is refused as a whole
//! ([`model::directory::DirectoryError`]); a bad line is set aside with its number and its reason
//! ([`BadLine`]), and the rest is read.

pub mod establishments;
pub mod inbox;
pub mod load;
pub mod professionals;
pub mod search;
pub mod verify;

pub use model::directory::{DirectoryError, DirectoryFile, LineProblem};

/// A line set aside: its number in the file (the header is line 1) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub line: u64,
    pub problem: LineProblem,
}

/// The physical lines of a file, one at a time in a buffer used again for each (constant memory
/// whatever the file's size), split on a delimiter. Neither extraction quotes its fields: a quote
/// is text. Line numbers count every line, the blank ones and the first included.
struct Lines<R> {
    input: std::io::BufReader<R>,
    buffer: Vec<u8>,
    /// Each field's start and end in `buffer`.
    bounds: Vec<(usize, usize)>,
    number: u64,
    delimiter: u8,
}

impl<R: std::io::Read> Lines<R> {
    /// Opens `input` and reads its first line (a header, or a description of the extraction);
    /// a file without one is refused as empty.
    fn first(input: R, delimiter: u8, file: DirectoryFile) -> Result<Self, DirectoryError> {
        let mut lines = Self {
            input: std::io::BufReader::with_capacity(256 * 1024, input),
            buffer: Vec::new(),
            bounds: Vec::new(),
            number: 0,
            delimiter,
        };
        if !lines.advance()? || lines.is_blank() {
            return Err(DirectoryError::Empty { file });
        }
        Ok(lines)
    }

    /// Reads the next line that is not blank (the file's last, often, is) and returns its
    /// number; `None` at the end of the file.
    fn next_filled(&mut self) -> Option<Result<u64, DirectoryError>> {
        loop {
            match self.advance() {
                Err(e) => return Some(Err(e)),
                Ok(false) => return None,
                Ok(true) if self.is_blank() => continue,
                Ok(true) => return Some(Ok(self.number)),
            }
        }
    }

    /// Reads the next line; `false` at the end of the file.
    fn advance(&mut self) -> Result<bool, DirectoryError> {
        use std::io::BufRead;
        self.buffer.clear();
        self.bounds.clear();
        let read = self
            .input
            .read_until(b'\n', &mut self.buffer)
            .map_err(|e| DirectoryError::Unreadable {
                line: self.number + 1,
                reason: e.to_string(),
            })?;
        if read == 0 {
            return Ok(false);
        }
        self.number += 1;
        while matches!(self.buffer.last(), Some(b'\n' | b'\r')) {
            self.buffer.pop();
        }
        let mut start = 0;
        for (i, b) in self.buffer.iter().enumerate() {
            if *b == self.delimiter {
                self.bounds.push((start, i));
                start = i + 1;
            }
        }
        self.bounds.push((start, self.buffer.len()));
        Ok(true)
    }

    /// How many fields the line has (a trailing delimiter ends an empty last one).
    fn len(&self) -> usize {
        self.bounds.len()
    }

    /// A field, surrounding spaces trimmed; empty past the line's end.
    fn field(&self, index: usize) -> &[u8] {
        self.bounds
            .get(index)
            .map_or(&[][..], |&(start, end)| &self.buffer[start..end])
            .trim_ascii()
    }

    fn is_blank(&self) -> bool {
        self.buffer.trim_ascii().is_empty()
    }
}
