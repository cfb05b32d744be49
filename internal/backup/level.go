package backup

import (
	"os"
	"path/filepath"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

const batchBytes = 4 << 20

// exportLevel writes every entry of snapshot s into a new goleveldb database in dir. The
// live database cannot be copied file by file: its compactions replace files meanwhile.
func exportLevel(s *leveldb.Snapshot, dir string, m *meter) error {
	db, err := leveldb.OpenFile(dir, &opt.Options{ErrorIfExist: true})
	if err != nil {
		return err
	}
	it := s.NewIterator(nil, nil)
	b := new(leveldb.Batch)
	var pending int
	for it.Next() {
		b.Put(it.Key(), it.Value())
		n := len(it.Key()) + len(it.Value())
		pending += n
		m.add(int64(n), false)
		if pending >= batchBytes {
			if err = db.Write(b, nil); err != nil {
				break
			}
			b.Reset()
			pending = 0
		}
	}
	it.Release()
	if err == nil {
		err = it.Error()
	}
	if err == nil {
		err = db.Write(b, &opt.WriteOptions{Sync: true})
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	// The lock and the text log are remade at open and belong in no backup.
	for _, f := range []string{"LOCK", "LOG", "LOG.old"} {
		os.Remove(filepath.Join(dir, f))
	}
	return err
}
