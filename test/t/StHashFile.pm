# Reading and editing steward_hash index files in TAP tests (with the
# server stopped).  The layout is the one of src/steward_hash/steward_hash.h and
# src/steward_hash/README.md: a standard page header, entries of 14 bytes
# (uint16 hash[4], most significant first, then the heap TID) from byte 24
# to pd_lower, and a 24-byte special area (next, bucket, split_max,
# partner, flags).  Used by 004_hash_crash.pl (a crafted interrupted split)
# and 070_verify_index_damage.pl (one kind of damage per index).
package StHashFile;

use strict;
use warnings;
use Exporter 'import';

our $BLCKSZ  = 8192;
our $SPECIAL = $BLCKSZ - 24;    # MAXALIGN(sizeof(StewardHashPageOpaqueData))
our $ENTRIES = 24;              # MAXALIGN(SizeOfPageHeaderData)
our $ENTRY   = 14;              # uint16 hash[4] + ItemPointerData
our $META    = 24;              # PageGetContents of the metapage
our $CAPACITY = int(($BLCKSZ - $ENTRIES - 24) / $ENTRY);

our @EXPORT = qw(read_page write_page opaque pd_lower set_lower nentries
  entry_hash entry_hash_words set_entry_hash_words bucket_of
  $BLCKSZ $SPECIAL $ENTRIES $ENTRY $META $CAPACITY);

sub read_page
{
	my ($fh, $blk) = @_;
	my $page;
	sysseek($fh, $blk * $BLCKSZ, 0) or die "seek: $!";
	sysread($fh, $page, $BLCKSZ) == $BLCKSZ or die "short read of block $blk";
	return $page;
}

sub write_page
{
	my ($fh, $blk, $page) = @_;
	sysseek($fh, $blk * $BLCKSZ, 0) or die "seek: $!";
	syswrite($fh, $page, $BLCKSZ) == $BLCKSZ or die "short write of block $blk";
}

# (next, bucket, split_max, partner, flags)
sub opaque    { return unpack('L L L L S', substr($_[0], $SPECIAL, 18)); }
sub pd_lower  { return unpack('S', substr($_[0], 12, 2)); }
sub set_lower { substr($_[0], 12, 2) = pack('S', $_[1]); }
sub nentries  { return (pd_lower($_[0]) - $ENTRIES) / $ENTRY; }

# An entry's hash as four uint16, most significant first, and as a number.
sub entry_hash_words { return unpack('S4', substr($_[0], $ENTRIES + $_[1] * $ENTRY, 8)); }

sub set_entry_hash_words
{
	my (undef, $i, @w) = @_;
	substr($_[0], $ENTRIES + $i * $ENTRY, 8) = pack('S4', @w);
}

sub entry_hash
{
	my @h = entry_hash_words(@_);
	return ($h[0] << 48) | ($h[1] << 32) | ($h[2] << 16) | $h[3];
}

# Bucket of a hash under masks (as steward_hash_to_bucket: low 32 bits).
sub bucket_of
{
	my ($h, $max, $high, $low) = @_;
	my $b = ($h & 0xFFFFFFFF) & $high;
	$b &= $low if $b > $max;
	return $b;
}

1;
