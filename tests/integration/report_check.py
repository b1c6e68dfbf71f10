#!/usr/bin/python3
"""report_check.py DUMP XSD EXPECT [ENVELOPE_TO] - check one report mail
dumped by smtp-sink.

DUMP is an smtp-sink dump (X-* lines, then the message).  The message must
carry one application/gzip part named per RFC 9990 ("receiver!domain!begin!
end.xml.gz") with the RFC's Subject; the XML must validate against XSD
(xmllint --schema) and hold, for each "ip count disposition dkim spf" line
of the file EXPECT, one record with those values; nothing else.  The
first line of EXPECT is "domain p".  With ENVELOPE_TO, every record's
identifiers carry that envelope_to."""
import email
import email.policy
import gzip
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

NS = {'d': 'urn:ietf:params:xml:ns:dmarc-2.0'}


def fail(msg):
    sys.exit('report_check: ' + msg)


raw = open(sys.argv[1], 'rb').read()
# smtp-sink's dump: X-* lines, then the message as received
raw = re.sub(rb'\A(X-[A-Za-z-]+:[^\n]*\n)+', b'', raw)
msg = email.message_from_bytes(raw, policy=email.policy.default)
expect = open(sys.argv[3]).read().split('\n')
domain, policy = expect[0].split()
subj = ' '.join(str(msg['Subject']).split())
if not re.fullmatch(r'Report Domain: %s Submitter: \S+ Report-ID: <\S+>' %
                    re.escape(domain), subj):
    fail('subject %r' % subj)
parts = [p for p in msg.walk() if p.get_content_type() == 'application/gzip']
if len(parts) != 1:
    fail('%d gzip parts' % len(parts))
name = parts[0].get_filename()
m = re.fullmatch(r'([^!]+)!%s!(\d+)!(\d+)\.xml\.gz' % re.escape(domain), name)
if not m:
    fail('file name %r' % name)
data = gzip.decompress(parts[0].get_payload(decode=True))
with tempfile.NamedTemporaryFile(suffix='.xml') as f:
    f.write(data)
    f.flush()
    r = subprocess.run(['xmllint', '--noout', '--schema', sys.argv[2], f.name],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail('xmllint: ' + r.stderr)
root = ET.fromstring(data)
if root.findtext('d:policy_published/d:domain', namespaces=NS) != domain:
    fail('policy_published domain')
if root.findtext('d:policy_published/d:p', namespaces=NS) != policy:
    fail('policy_published p')
if root.findtext('d:report_metadata/d:date_range/d:begin', namespaces=NS) != m.group(2):
    fail('date_range begin differs from the file name')
got = []
for rec in root.findall('d:record', NS):
    row = rec.find('d:row', NS)
    pe = row.find('d:policy_evaluated', NS)
    if len(sys.argv) > 4:
        eto = rec.findtext('d:identifiers/d:envelope_to', namespaces=NS)
        if eto != sys.argv[4]:
            fail('envelope_to %r, expected %r' % (eto, sys.argv[4]))
    got.append(' '.join([row.findtext('d:source_ip', namespaces=NS),
                         row.findtext('d:count', namespaces=NS),
                         pe.findtext('d:disposition', namespaces=NS),
                         pe.findtext('d:dkim', namespaces=NS),
                         pe.findtext('d:spf', namespaces=NS)]))
want = [line for line in expect[1:] if line.strip()]
if sorted(got) != sorted(want):
    fail('records %r, expected %r' % (got, want))
print('report %s ok: %d records' % (name, len(got)))
