#!/usr/bin/python3
"""report_afrf_check.py MESSAGE MODE [CHECK...] - exit 0 when MESSAGE (a file,
or the smtp-sink dump of one) is a DMARC failure report (RFC 9991) in the
RFC 6591 format as Python's email package parses it:
  multipart/report; report-type=feedback-report with three parts:
  text/plain, message/feedback-report (Feedback-Type: auth-failure,
  Version: 1, User-Agent, exactly one Auth-Failure and one
  Authentication-Results, Identity-Alignment, Reported-Domain) and the
  original: MODE "headers" wants text/rfc822-headers, "message" wants
  message/rfc822 with a body.
CHECK: Field=Value (a feedback-report field equals Value),
       orig:Field=Value (a field of the original header section),
       absent:TEXT (TEXT appears nowhere in the message),
       to:ADDR (ADDR is in To:)."""
import email
import email.policy
import sys


def fail(why):
    sys.exit('report_afrf_check: ' + why)


raw = open(sys.argv[1], 'rb').read()
# an smtp-sink dump starts with X-* envelope lines; the message follows
while raw.startswith(b'X-') and b'\n' in raw:
    raw = raw.split(b'\n', 1)[1]
mode = sys.argv[2]
msg = email.message_from_bytes(raw, policy=email.policy.default)
if msg.get_content_type() != 'multipart/report':
    fail('top-level type %s' % msg.get_content_type())
if msg.get_param('report-type') != 'feedback-report':
    fail('report-type %r' % msg.get_param('report-type'))
parts = msg.get_payload()
if len(parts) != 3:
    fail('%d parts, expected 3' % len(parts))
types = [p.get_content_type() for p in parts]
third = 'text/rfc822-headers' if mode == 'headers' else 'message/rfc822'
if types != ['text/plain', 'message/feedback-report', third]:
    fail('part types %r' % types)
fb = parts[1].get_payload()
fb = fb[0] if isinstance(fb, list) else email.message_from_string(fb)
for name, want in (('Feedback-Type', 'auth-failure'), ('Version', '1')):
    if str(fb[name]) != want:
        fail('%s: %r' % (name, fb[name]))
for name in ('User-Agent', 'Auth-Failure', 'Authentication-Results',
             'Identity-Alignment', 'Reported-Domain', 'Original-Mail-From',
             'Arrival-Date'):
    if len(fb.get_all(name, [])) != 1:
        fail('%s appears %d times' % (name, len(fb.get_all(name, []))))
if mode == 'headers':
    orig = email.message_from_string(parts[2].get_payload(),
                                     policy=email.policy.default)
else:
    orig = parts[2].get_payload()[0]
    if not orig.get_payload():
        fail('message/rfc822 without a body')
if orig['From'] is None:
    fail('no From in the original header section')
for check in sys.argv[3:]:
    if check.startswith('absent:'):
        if check[7:].encode() in raw:
            fail('%r is in the report' % check[7:])
    elif check.startswith('to:'):
        if check[3:] not in str(msg['To']):
            fail('To: %r lacks %s' % (msg['To'], check[3:]))
    elif check.startswith('orig:'):
        name, want = check[5:].split('=', 1)
        if want not in str(orig[name]):
            fail('original %s: %r, expected %r' % (name, orig[name], want))
    else:
        name, want = check.split('=', 1)
        if ' '.join(str(fb[name]).split()) != want:
            fail('%s: %r, expected %r' % (name, fb[name], want))
print('ok: failure report, %s' % ', '.join(types))
