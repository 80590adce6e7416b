package ws

import "time"

func sleepBriefly() { time.Sleep(5 * time.Millisecond) }
