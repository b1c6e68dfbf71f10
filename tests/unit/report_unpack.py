#!/usr/bin/python3
"""report_unpack.py MESSAGE NAME XML - exit 0 when MESSAGE is a MIME message
with exactly one application/gzip part named NAME whose gunzipped content is
the file XML byte for byte (the RFC 9990 "Email" delivery of a report)."""
import email
import email.policy
import gzip
import sys

msg = email.message_from_binary_file(open(sys.argv[1], 'rb'),
                                     policy=email.policy.default)
parts = [p for p in msg.walk() if p.get_content_type() == 'application/gzip']
if len(parts) != 1:
    sys.exit('expected one application/gzip part, found %d' % len(parts))
if parts[0].get_filename() != sys.argv[2]:
    sys.exit('file name %r, expected %r' % (parts[0].get_filename(), sys.argv[2]))
if msg['Subject'].split() != ['Report', 'Domain:', 'example.com', 'Submitter:',
                              'receiver.example', 'Report-ID:',
                              '<86400.example.com@receiver.example>']:
    sys.exit('subject %r' % msg['Subject'])
data = gzip.decompress(parts[0].get_payload(decode=True))
if data != open(sys.argv[3], 'rb').read():
    sys.exit('attachment differs from the report XML')
