package snapshot

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/golang/snappy"
)

// metadataVersion is the first byte of the metadata; the chunk hashes follow.
const metadataVersion = 1

// EncodeMetadata is the metadata of a snapshot with these chunk hashes.
func EncodeMetadata(hashes [][32]byte) []byte {
	out := make([]byte, 1, 1+32*len(hashes))
	out[0] = metadataVersion
	for _, h := range hashes {
		out = append(out, h[:]...)
	}
	return out
}

// ChunkHashes decodes and checks an offered snapshot's metadata against its other fields.
func ChunkHashes(info Info) ([][32]byte, error) {
	m := info.Metadata
	if len(m) == 0 || m[0] != metadataVersion {
		return nil, fmt.Errorf("snapshot metadata of an unknown version")
	}
	if info.Chunks == 0 || uint64(len(m)-1) != 32*uint64(info.Chunks) {
		return nil, fmt.Errorf("snapshot metadata holds %d bytes of hashes for %d chunks", len(m)-1, info.Chunks)
	}
	if h := sha256.Sum256(m); !bytes.Equal(h[:], info.Hash) {
		return nil, fmt.Errorf("snapshot hash %X is not the hash of its metadata", info.Hash)
	}
	hs := make([][32]byte, info.Chunks)
	for i := range hs {
		copy(hs[i][:], m[1+32*i:])
	}
	return hs, nil
}

// Restorer takes the state stream in order and checks the result against the trusted app
// hash (state.Restore does).
type Restorer interface {
	Write(p []byte) error
	Finish(trusted []byte) error
	Abort() error
}

// Verdict is what to do with an applied chunk.
type Verdict int

const (
	// Accepted: the chunk was applied; more follow.
	Accepted Verdict = iota
	// Refetch: the chunk does not hash to its metadata entry; its sender is not to be
	// trusted and the chunk must come from another peer.
	Refetch
	// Rejected: the snapshot is not the chain's state; the restore was undone.
	Rejected
	// Restored: the last chunk was applied and the state matches the trusted app hash.
	Restored
)

// Session restores one accepted snapshot, chunk by chunk.
type Session struct {
	Info    Info
	hashes  [][32]byte
	trusted []byte
	r       Restorer
	next    uint32
	done    bool
	raw     []byte // the last decoded chunk, its buffer reused
}

// NewSession checks an offered snapshot and starts restoring it with r. trusted is the app
// hash of the snapshot's height from a header the light client verified.
func NewSession(info Info, trusted []byte, begin func(height int64) (Restorer, error)) (*Session, error) {
	if info.Format != Format {
		return nil, fmt.Errorf("snapshot format %d: this node restores format %d", info.Format, Format)
	}
	if info.Height == 0 || info.Height > 1<<62 {
		return nil, fmt.Errorf("snapshot of height %d", info.Height)
	}
	if len(trusted) != sha256.Size {
		return nil, fmt.Errorf("trusted app hash of %d bytes", len(trusted))
	}
	hs, err := ChunkHashes(info)
	if err != nil {
		return nil, err
	}
	r, err := begin(int64(info.Height))
	if err != nil {
		return nil, err
	}
	return &Session{Info: info, hashes: hs, trusted: bytes.Clone(trusted), r: r}, nil
}

// Apply takes chunk index. A chunk that does not match its hash changes nothing and is
// to be fetched again; one that matches but does not restore (a snapshot whose metadata
// lies) rejects the whole snapshot.
func (s *Session) Apply(index uint32, chunk []byte) (Verdict, error) {
	if s.done {
		return Rejected, fmt.Errorf("the snapshot was already restored or rejected")
	}
	if index != s.next {
		return s.reject(fmt.Errorf("chunk %d applied where chunk %d was due", index, s.next))
	}
	if h := sha256.Sum256(chunk); h != s.hashes[index] {
		return Refetch, fmt.Errorf("chunk %d of the snapshot of height %d hashes to %X, its metadata says %X", index, s.Info.Height, h, s.hashes[index])
	}
	raw, err := decodeChunk(chunk, s.raw)
	if err != nil {
		return s.reject(fmt.Errorf("chunk %d of the snapshot of height %d: %w", index, s.Info.Height, err))
	}
	s.raw = raw
	if err := s.r.Write(raw); err != nil {
		return s.reject(err)
	}
	s.next++
	if s.next < uint32(len(s.hashes)) {
		return Accepted, nil
	}
	if err := s.r.Finish(s.trusted); err != nil {
		return s.reject(err)
	}
	s.done = true
	return Restored, nil
}

// decodeChunk decompresses a chunk into dst's buffer. A chunk that does not decode, or
// decodes to more than MaxChunkSize, is not part of any snapshot this node writes.
func decodeChunk(chunk, dst []byte) ([]byte, error) {
	n, err := snappy.DecodedLen(chunk)
	if err != nil {
		return nil, fmt.Errorf("it does not decompress: %w", err)
	}
	if n > MaxChunkSize {
		return nil, fmt.Errorf("it decompresses to %d bytes, over the %d-byte limit", n, MaxChunkSize)
	}
	out, err := snappy.Decode(dst[:cap(dst)], chunk)
	if err != nil {
		return nil, fmt.Errorf("it does not decompress: %w", err)
	}
	return out, nil
}

// Abort undoes a restore that will not be finished.
func (s *Session) Abort() error {
	if s.done {
		return nil
	}
	s.done = true
	return s.r.Abort()
}

func (s *Session) reject(cause error) (Verdict, error) {
	s.done = true
	if err := s.r.Abort(); err != nil {
		return Rejected, fmt.Errorf("%v; and undoing the restore failed: %w", cause, err)
	}
	return Rejected, cause
}
