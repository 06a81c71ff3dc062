//! Plain-text tables with aligned columns.

use std::io::{self, Write};

/// A table: a header row and rows of cells, written with each column as
/// wide as its widest cell. Numeric columns are right-aligned; the last
/// column is never padded.
///
/// # Examples
///
/// ```
/// use mproc_cli::Table;
///
/// let mut t = Table::new(&["NAME", "SIZE", "NOTE"]).right_aligned(1);
/// t.push(vec!["a".into(), "10".into(), "x".into()]);
/// t.push(vec!["bbb".into(), "2".into(), "".into()]);
/// let mut out = Vec::new();
/// t.write(&mut out).unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(),
///            "NAME  SIZE  NOTE\na       10  x\nbbb      2\n");
/// ```
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            right: vec![false; header.len()],
            rows: Vec::new(),
        }
    }

    /// Right-aligns column `index` (counting from 0).
    #[must_use]
    pub fn right_aligned(mut self, index: usize) -> Table {
        if let Some(r) = self.right.get_mut(index) {
            *r = true;
        }
        self
    }

    /// Adds a row; missing cells are empty, extra cells are dropped.
    pub fn push(&mut self, mut row: Vec<String>) {
        row.resize(self.header.len(), String::new());
        self.rows.push(row);
    }

    /// Writes the table, one line per row.
    ///
    /// # Errors
    ///
    /// The writer's error.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            let last = row.len().saturating_sub(1);
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = widths[i].saturating_sub(cell.chars().count());
                if self.right[i] {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if i != last {
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}
