#!/usr/bin/env python3
"""The original plan's way to read a scoreboard, kept for comparison: PP-OCRv4 over the whole
image (PyPI `rapidocr-onnxruntime`, whose wheel ships the ONNX models), one new Python process
per job. Prints the texts it found as a JSON list on stdout.

Usage: read_scoreboard.py IMAGE
Run by `make bench-ocr` (ocr/benches/accuracy.rs) when the package is installed.
"""
import json
import sys

from rapidocr_onnxruntime import RapidOCR

engine = RapidOCR()
result, _ = engine(sys.argv[1])
print(json.dumps([text for _box, text, _score in (result or [])], ensure_ascii=False))
