"""Text helpers the clean stage is built from: lines, Unicode and house-style normalization,
HTML to text, wire furniture (agency credits, datelines)."""
