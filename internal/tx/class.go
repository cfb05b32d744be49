package tx

import "sync"

// Class is the kind of failure a coded error is, which the HTTP API turns into a status.
// Each domain classifies its own codes where it defines them (Classify, in an init
// function), so a new code needs no edit anywhere else.
type Class uint8

const (
	Invalid         Class = iota + 1 // the request is wrong: fix it (400)
	Unauthenticated                  // not signed, or not by whom it claims (401)
	Forbidden                        // the signer may not do this (403)
	NotFound                         // no such thing (404)
	Conflict                         // the state does not allow it now (409)
	Gone                             // it existed and was removed (410)
	TooLarge                         // over a size limit (413)
	Unprocessable                    // well formed but refused, unclassified (422)
	TooMany                          // over a rate or budget (429)
	Internal                         // the node failed (500)
	Unavailable                      // try again later (503)
	Timeout                          // the node gave up waiting (504)
)

type classes struct {
	def   Class
	codes map[uint32]Class
}

var (
	classMu sync.RWMutex
	bySpace = map[Codespace]classes{}
)

// Classify records the class of each of space's codes; codes not listed are def.
func Classify(space Codespace, def Class, codes map[uint32]Class) {
	classMu.Lock()
	defer classMu.Unlock()
	bySpace[space] = classes{def: def, codes: codes}
}

// ClassOf is the class of a coded error; a codespace no domain classified is Unprocessable.
func ClassOf(space string, code uint32) Class {
	classMu.RLock()
	defer classMu.RUnlock()
	c, ok := bySpace[Codespace(space)]
	if !ok {
		return Unprocessable
	}
	if k, ok := c.codes[code]; ok {
		return k
	}
	return c.def
}

func init() {
	Classify(Space, Invalid, map[uint32]Class{
		CodeTooLarge: TooLarge, CodeUnknownSigner: Unauthenticated, CodeBadSignature: Unauthenticated,
		CodeInactive: Forbidden, CodeBadSequence: Conflict, CodeInternal: Internal,
	})
}
