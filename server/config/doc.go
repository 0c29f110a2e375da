// Package config reads the gateway's YAML config file into the msg.config.v1
// protobuf schema, the same messages the admin API and the store use, and
// validates it. Unknown keys and invalid values are errors that name the key
// and its line: the gateway fails closed on bad config.
package config
