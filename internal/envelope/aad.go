package envelope

import "encoding/binary"

// aadDomain separates record AAD from every other byte string signed or
// authenticated in the system.
const aadDomain = "ehrchain/record/v1"

// AAD builds the associated data that binds a record ciphertext to its
// context. Deterministic and unambiguous: after the fixed domain prefix each
// string is preceded by its length as 8-byte big-endian, and the version is
// 4-byte big-endian, so no two distinct inputs share an encoding.
func AAD(recordID string, version uint32, patientID, category string) []byte {
	b := make([]byte, 0, len(aadDomain)+3*8+4+len(recordID)+len(patientID)+len(category))
	b = append(b, aadDomain...)
	b = appendString(b, recordID)
	b = binary.BigEndian.AppendUint32(b, version)
	b = appendString(b, patientID)
	b = appendString(b, category)
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}
