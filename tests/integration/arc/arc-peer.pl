#!/usr/bin/perl
# arc-peer.pl - Mail::DKIM's ARC (libmail-dkim-perl) as the peer of 21-arc-interop.sh.
#
#   arc-peer.pl verify PORT FILE
#       Mail::DKIM::ARC::Verifier over FILE, keys from the DNS server on
#       127.0.0.1:PORT; prints "cv=<result> (<detail>)", exit 0 on pass.
#   arc-peer.pl sign PORT FILE DOMAIN SELECTOR KEYFILE SRV-ID
#       Mail::DKIM::ARC::Signer with Chain => 'ar' (the arc= result of FILE's
#       Authentication-Results for SRV-ID); prints the new set, then the message.
use strict;
use warnings;
use Mail::DKIM::ARC::Signer;
use Mail::DKIM::ARC::Verifier;
use Mail::DKIM::DNS;
use Net::DNS::Resolver;

my ($cmd, $port, $path, @rest) = @ARGV;
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(nameservers => ['127.0.0.1'],
    port => $port, recurse => 1, udp_timeout => 5, tcp_timeout => 5));
open(my $fh, '<', $path) or die "$path: $!";
binmode $fh;
my $msg = do { local $/; <$fh> };
close $fh;

# feed - the message into a Mail::DKIM object line by line, CRLF-terminated
sub feed {
	my ($obj) = @_;
	my @lines = split /\015\012/, $msg, -1;
	pop @lines if @lines && $lines[-1] eq '';
	for my $line (@lines) {
		$obj->PRINT("$line\015\012");
	}
	$obj->CLOSE;
}

if ($cmd eq 'verify') {
	my $v = Mail::DKIM::ARC::Verifier->new(Strict => 1);
	feed($v);
	printf "cv=%s (%s)\n", $v->result, $v->result_detail // '';
	exit($v->result eq 'pass' ? 0 : 1);
}
my ($domain, $selector, $keyfile, $srvid) = @rest;
my $s = Mail::DKIM::ARC::Signer->new(Algorithm => 'rsa-sha256', Chain => 'ar',
    Domain => $domain, Selector => $selector, KeyFile => $keyfile, SrvId => $srvid,
    Headers => 'from:to:subject:date:message-id');
feed($s);
if ($s->result ne 'sealed') {
	print STDERR "not sealed: ", $s->result, " ", ($s->result_detail // ''), "\n";
	exit 1;
}
print $s->as_string, $msg;
exit 0;
