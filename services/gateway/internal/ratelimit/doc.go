// Package ratelimit limits how often one key (a client address, an account, a group) may
// do something expensive or guessable, such as trying a passcode or a password. Rules are
// read from configuration as "N/duration"; back-offs, which make a key wait longer after
// each failure, as "N:base..max". The counting itself is done by a shared store so every
// gateway replica enforces one budget. Each replica remembers the store's refusals until
// their retry-after, in a small bounded map, so a key that keeps hammering a limit is
// refused from memory; allowances are never remembered.
package ratelimit
