package state

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	"github.com/cockroachdb/pebble/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/sstable"
	"github.com/cockroachdb/pebble/vfs"
)

// ingestFileBytes is about how much index data one ingested file holds.
const ingestFileBytes = 64 << 20

// indexIngester writes a restore's index entries, which the stream delivers in ascending key
// order, straight into table files and ingests them into the database one file at a time
// (a new file where the stored keys start again lower: record entries are stored after every
// other key, indexkeys.go).
// Written through batches they would pass the write-ahead log, the memtable, a flush and
// compactions; ingested they land in the bottom level as they are, with the same Bloom
// filters as the store's own tables. Only the file being built is on disk outside the
// database, in a temporary directory beside it (on the same file system, so that pebble
// links the file in rather than copying it, and never in a small system temp directory)
// that exists only while the file does; one a crash left behind goes at the next Open.
type indexIngester struct {
	db     *pebble.DB
	parent string // where the temporary directories go
	dir    string
	opts   sstable.WriterOptions
	w      *sstable.Writer
	path   string
	bytes  int
	files  int
	last   []byte // the last key written to the file
}

func newIndexIngester(db *pebble.DB, parent string) *indexIngester {
	o := (&pebble.Options{Levels: []pebble.LevelOptions{{FilterPolicy: bloom.FilterPolicy(10), FilterType: pebble.TableFilter}}}).EnsureDefaults()
	return &indexIngester{db: db, parent: parent, opts: o.MakeWriterOptions(6, db.FormatMajorVersion().MaxTableFormat())}
}

// ingestPattern names the temporary directories of an ingester.
const ingestPattern = ".restore-ingest-"

// removeIngestLeftovers removes the temporary directories a stopped restore left in dir.
func removeIngestLeftovers(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), ingestPattern) {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// set adds the next entry.
func (x *indexIngester) set(key, value []byte) error {
	if x.w != nil && bytes.Compare(key, x.last) <= 0 {
		if err := x.flush(); err != nil {
			return err
		}
	}
	if x.w == nil {
		dir, err := os.MkdirTemp(x.parent, ingestPattern+"*")
		if err != nil {
			return fmt.Errorf("restore index: %w", err)
		}
		x.dir, x.path = dir, filepath.Join(dir, fmt.Sprintf("%06d.sst", x.files))
		f, err := vfs.Default.Create(x.path)
		if err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("restore index: %w", err)
		}
		x.w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), x.opts)
		x.files++
	}
	if err := x.w.Set(key, value); err != nil {
		return fmt.Errorf("restore index: %w", err)
	}
	x.last = append(x.last[:0], key...)
	if x.bytes += len(key) + len(value); x.bytes >= ingestFileBytes {
		return x.flush()
	}
	return nil
}

// flush ingests the file being written, if any.
func (x *indexIngester) flush() error {
	if x.w == nil {
		return nil
	}
	err := x.w.Close()
	x.w, x.bytes = nil, 0
	if err == nil {
		err = x.db.Ingest([]string{x.path})
	}
	os.RemoveAll(x.dir)
	x.dir = ""
	if err != nil {
		return fmt.Errorf("restore index: ingest: %w", err)
	}
	return nil
}

// close drops the file being written, if any, and its temporary directory.
func (x *indexIngester) close() {
	if x.w != nil {
		x.w.Close()
		x.w = nil
	}
	if x.dir != "" {
		os.RemoveAll(x.dir)
		x.dir = ""
	}
}
