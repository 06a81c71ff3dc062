//! Counting the items of a call (Python's default chunk size needs the
//! length) without copying them when the iterator knows its length.

/// Items whose number is known: the caller's iterator when it reports an
/// exact length, else the items collected into a `Vec`.
pub(crate) enum Counted<I: Iterator> {
    Exact(I),
    Collected(std::vec::IntoIter<I::Item>),
}

impl<I: Iterator> Counted<I> {
    /// The items and how many there are.
    pub(crate) fn new(items: impl IntoIterator<IntoIter = I>) -> (usize, Counted<I>) {
        let iter = items.into_iter();
        match iter.size_hint() {
            (lo, Some(hi)) if lo == hi => (lo, Counted::Exact(iter)),
            _ => {
                let v: Vec<I::Item> = iter.collect();
                (v.len(), Counted::Collected(v.into_iter()))
            }
        }
    }
}

impl<I: Iterator> Iterator for Counted<I> {
    type Item = I::Item;

    #[inline]
    fn next(&mut self) -> Option<I::Item> {
        match self {
            Counted::Exact(i) => i.next(),
            Counted::Collected(i) => i.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_exact_and_inexact_iterators() {
        let (n, it) = Counted::new(0..5);
        assert!(matches!(it, Counted::Exact(_)));
        assert_eq!((n, it.sum::<i32>()), (5, 10));
        let (n, it) = Counted::new((0..10).filter(|x| x % 2 == 0));
        assert!(matches!(it, Counted::Collected(_)));
        assert_eq!((n, it.collect::<Vec<_>>()), (5, vec![0, 2, 4, 6, 8]));
    }
}
