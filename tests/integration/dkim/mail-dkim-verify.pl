#!/usr/bin/perl
# mail-dkim-verify.pl ZONE FILE... - verify every DKIM-Signature of each FILE with
# Mail::DKIM::Verifier (Debian libmail-dkim-perl; Ed25519 through CryptX).  Keys
# come from ZONE ("name value" lines): Mail::DKIM::DNS::query, the one place
# Mail::DKIM asks DNS, is replaced.  Prints "FILE pass" when every signature
# passes, else "FILE fail <result (detail)>...".
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Net::DNS;

my $zonefile = shift @ARGV or die "usage: $0 ZONE FILE...\n";
my %zone;
open(my $z, '<', $zonefile) or die "$zonefile: $!\n";
while (my $line = <$z>) {
	$line =~ s/[\r\n]+$//;
	my ($name, $value) = split(/ /, $line, 2);
	$name = lc $name;
	$name =~ s/\.$//;
	$zone{$name} = $value;
}
close $z;

{
	no warnings 'redefine';
	*Mail::DKIM::DNS::query = sub {
		my ($name, $type) = @_;
		$name = lc $name;
		$name =~ s/\.$//;
		my $v = $zone{$name};
		if (!defined $v || uc $type ne 'TXT') {
			$@ = 'NXDOMAIN';
			return;
		}
		# character-strings of at most 255 octets, as in a real answer
		my @strings = unpack('(a255)*', $v);
		return Net::DNS::RR->new(name => $name, type => 'TXT',
		    txtdata => [@strings]);
	};
}

my $rc = 0;
for my $file (@ARGV) {
	open(my $fh, '<:raw', $file) or die "$file: $!\n";
	my $dkim = Mail::DKIM::Verifier->new();
	my $buf;
	while (read($fh, $buf, 65536)) {
		$dkim->PRINT($buf);
	}
	close $fh;
	$dkim->CLOSE;
	my @sigs = $dkim->signatures;
	my @bad = map { $_->result . ' (' . ($_->result_detail // '') . ')' }
	    grep { $_->result ne 'pass' } @sigs;
	if (@sigs && !@bad) {
		print "$file pass\n";
	} else {
		print "$file fail ", (@sigs ? join('; ', @bad) : 'no-signature'), "\n";
		$rc = 1;
	}
}
exit $rc;
