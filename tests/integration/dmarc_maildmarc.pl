#!/usr/bin/perl
# dmarc_maildmarc.pl - evaluate the DMARC cases read from stdin with
# Mail::DMARC::PurePerl (RFC 7489, Public Suffix List) against a private DNS
# server, printing "id result disposition" per case.
# Usage: dmarc_maildmarc.pl PORT < cases   (case format: see dmarc_xcheck.c)
use strict;
use warnings;
use Mail::DMARC::PurePerl;
use Net::DNS::Resolver;

my $port = shift or die "usage: $0 PORT\n";
my $res = Net::DNS::Resolver->new(nameservers => ['127.0.0.1'], port => $port,
    dnsrch => 0, recurse => 1, udp_timeout => 3, tcp_timeout => 3, retry => 1);

while (my $line = <STDIN>) {
    next if $line =~ /^\s*(#|$)/;
    my ($id, $from, $mf, $spf, $dd, $dr) = split ' ', $line;
    my $dmarc = Mail::DMARC::PurePerl->new;
    $dmarc->set_resolver($res);
    $dmarc->source_ip('192.0.2.1');
    $dmarc->envelope_to('example.net');
    $dmarc->envelope_from($mf eq '-' ? '' : $mf);
    $dmarc->header_from($from);
    $dmarc->spf(domain => ($mf eq '-' ? $from : $mf), scope => 'mfrom',
        result => $spf);
    if ($dd ne '-') {
        $dmarc->dkim([{ domain => $dd, selector => 'sel', result => $dr }]);
    } else {
        $dmarc->dkim([]);
    }
    my $r = $dmarc->validate;
    printf "%s %s %s\n", $id, $r->result, $r->disposition || 'none';
}
