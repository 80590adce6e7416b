// Package ratelimit limits how often one key (a client address, an account, a group) may
// do something expensive or guessable, such as trying a passcode or a password. Rules are
// read from configuration as "N/duration"; back-offs, which make a key wait longer after
// each failure, as "N:base..max". The counting itself is done by a shared store so every
// gateway replica enforces one budget.
package ratelimit
