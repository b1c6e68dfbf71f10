#!/usr/bin/perl
# report_maildmarc.pl - parse a DMARC aggregate report mail (standard input)
# with Mail::DMARC's receiver (Mail::DMARC::Report::Receive, the code behind
# dmarc_receive) and print what it understood, one line each, sorted:
#   meta ORG_NAME REPORT_ID BEGIN END
#   policy DOMAIN P ADKIM ASPF
#   record SOURCE_IP COUNT DISPOSITION DKIM SPF HEADER_FROM ENVELOPE_FROM
#   records N
# Its store is not used: save_aggregate is replaced by a no-op, so the parsed
# report is read back from the object.
use strict;
use warnings;
use Email::Simple;
use Mail::DMARC::Report;
use Mail::DMARC::Report::Receive;

no warnings 'redefine';
*Mail::DMARC::Report::save_aggregate = sub { return 1 };
use warnings 'redefine';

my $text = do { local $/; <STDIN> };
my $recv = Mail::DMARC::Report::Receive->new;
open my $quiet, '>', '/dev/null' or die;
my $old = select $quiet;    # get_submitter_from_subject prints the subject
my $type = $recv->from_email_simple( Email::Simple->new($text) );
select $old;
die "not an aggregate report\n" unless ( $type // '' ) eq 'aggregate';
my $agg = $recv->report->aggregate;
my $m   = $agg->metadata;
my @out;
push @out, join ' ', 'meta', map { $_ // '-' } $m->org_name, $m->report_id, $m->begin,
    $m->end;
my $p = $agg->policy_published;
push @out, join ' ', 'policy', map { defined && length ? $_ : '-' } $p->domain, $p->p,
    $p->adkim, $p->aspf;
my $recs = $agg->record || [];
foreach my $r (@$recs) {
    my $pe = $r->row->policy_evaluated;
    push @out, join ' ', 'record', $r->row->source_ip, $r->row->count, $pe->disposition,
        $pe->dkim, $pe->spf, $r->identifiers->header_from,
        $r->identifiers->envelope_from || '-';
}
push @out, 'records ' . scalar(@$recs);
print "$_\n" for sort @out;
