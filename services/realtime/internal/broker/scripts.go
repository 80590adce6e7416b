package broker

import (
	_ "embed"

	"github.com/redis/rueidis"
)

// The Lua scripts live in lua/, one file each, with their KEYS and ARGV described there.
//
// Dedup key values: "p:<id>" while a send is in flight, "d:<id>:<epoch>:<offset>" once
// published. Scripts return them (with "o:" for "the caller owns the send now" and "w:"
// for "another instance is sending it; wait").
//
// Every script is safe to run twice with the same arguments, so the client may retry one
// whose connection broke before the reply came (rueidis' retryable scripts).
var (
	//go:embed lua/reserve.lua
	reserveLua string
	//go:embed lua/release.lua
	releaseLua string
	//go:embed lua/publish.lua
	publishLua string
	//go:embed lua/recover.lua
	recoverLua string
	//go:embed lua/presence_now.lua
	presenceNowLua string
	//go:embed lua/presence_add.lua
	presenceAddLua string
	//go:embed lua/presence_remove.lua
	presenceRemoveLua string
	//go:embed lua/presence_refresh.lua
	presenceRefreshLua string
	//go:embed lua/presence_list.lua
	presenceListLua string
)

var (
	// reserveScript claims a client message id.
	reserveScript = rueidis.NewLuaScriptRetryable(reserveLua)
	// releaseScript gives up a lease so a retry need not wait for it to run out.
	releaseScript = rueidis.NewLuaScriptRetryable(releaseLua)
	// publishScript appends a message to its room exactly once per client message id.
	publishScript = rueidis.NewLuaScriptRetryable(publishLua)
	// recoverScript reads a room's position and the history a client missed, atomically.
	recoverScript = rueidis.NewLuaScriptRetryable(recoverLua)

	// The presence scripts read Redis' clock, so they start with presence_now.lua.

	// presenceAddScript adds a client to a room and publishes its join event.
	presenceAddScript = rueidis.NewLuaScriptRetryable(presenceNowLua + presenceAddLua)
	// presenceRemoveScript removes a client from a room and publishes its leave event.
	presenceRemoveScript = rueidis.NewLuaScriptRetryable(presenceRemoveLua)
	// presenceRefreshScript extends this instance's entries and sweeps expired ones.
	presenceRefreshScript = rueidis.NewLuaScriptRetryable(presenceNowLua + presenceRefreshLua)
	// presenceListScript lists the clients whose entries have not expired.
	presenceListScript = rueidis.NewLuaScriptRetryable(presenceNowLua + presenceListLua)
)
