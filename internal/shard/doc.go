// Package shard describes a network of several ehrchain chains and decides where a patient
// lives in it. A network is EHR shards, each holding a disjoint set of patients, and
// sidechains (the drug supply chain) that run an application of their own. The description
// (a JSON file: each chain's name, chain id and node API URLs, and which chain follows which
// through a light client) is what the client, the CLI and the testnet share, and Home, the
// directory function, is the one rule every one of them applies to find a patient's home
// shard: a pure function of the patient id and the shard names.
package shard
