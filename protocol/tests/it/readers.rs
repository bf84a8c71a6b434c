//! `Read` implementations that misbehave the way real pipes do: short reads, interruptions, I/O errors, and one that
//! fails the test if the frame reader reads further than it should.

use std::io::{self, Read};

/// Hands out one byte per call and fails every other call with `Interrupted`, as a slow pipe hit by signals does.
pub struct Trickle<'a> {
    bytes: &'a [u8],
    interrupt_next: bool,
}

impl<'a> Trickle<'a> {
    pub fn new(bytes: &'a [u8]) -> Trickle<'a> {
        Trickle { bytes, interrupt_next: true }
    }
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.interrupt_next = !self.interrupt_next;
        if !self.interrupt_next {
            return Err(io::ErrorKind::Interrupted.into());
        }
        match self.bytes.split_first() {
            None => Ok(0),
            Some((first, rest)) => {
                buf[0] = *first;
                self.bytes = rest;
                Ok(1)
            }
        }
    }
}

/// Holds exactly one frame header. Reading past it panics, which proves the frame reader stopped at the header.
pub struct HeaderOnly {
    header: [u8; 4],
    sent: usize,
}

impl HeaderOnly {
    pub fn new(header: [u8; 4]) -> HeaderOnly {
        HeaderOnly { header, sent: 0 }
    }
}

impl Read for HeaderOnly {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        assert!(self.sent < self.header.len(), "the frame reader read past a header it should have refused");
        let n = buf.len().min(self.header.len() - self.sent);
        buf[..n].copy_from_slice(&self.header[self.sent..self.sent + n]);
        self.sent += n;
        Ok(n)
    }
}

/// Yields `bytes`, then fails with a broken pipe.
pub struct BreaksAfter<'a> {
    pub bytes: &'a [u8],
}

impl Read for BreaksAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.bytes.is_empty() {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the peer went away"));
        }
        let n = buf.len().min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}
