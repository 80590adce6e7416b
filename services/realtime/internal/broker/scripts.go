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
// whose connection broke before the reply came (rueidis' retryable scripts). The only
// effect of running one twice is that a recovery or typing event may be charged to its
// member's quota twice, which errs on the safe side.
//
// Scripts that read the clock start with now.lua; those that charge a member quota
// (send, typing, replay) also include quota.lua.
var (
	//go:embed lua/reserve.lua
	reserveLua string
	//go:embed lua/release.lua
	releaseLua string
	//go:embed lua/publish.lua
	publishLua string
	//go:embed lua/recover.lua
	recoverLua string
	//go:embed lua/now.lua
	nowLua string
	//go:embed lua/quota.lua
	quotaLua string
	//go:embed lua/event.lua
	eventLua string
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
	// reserveScript claims a client message id, charging a new one to the send quota.
	reserveScript = rueidis.NewLuaScriptRetryable(nowLua + quotaLua + reserveLua)
	// releaseScript gives up a lease so a retry need not wait for it to run out.
	releaseScript = rueidis.NewLuaScriptRetryable(releaseLua)
	// publishScript appends a message to its room exactly once per client message id.
	publishScript = rueidis.NewLuaScriptRetryable(publishLua)
	// recoverScript reads a room's position and the history a client missed, atomically,
	// charging the replay to the member's replay quota.
	recoverScript = rueidis.NewLuaScriptRetryable(nowLua + quotaLua + recoverLua)
	// eventScript publishes a typing event if the member's typing quota allows it.
	eventScript = rueidis.NewLuaScriptRetryable(nowLua + quotaLua + eventLua)

	// presenceAddScript adds a client to a room and publishes its join event.
	presenceAddScript = rueidis.NewLuaScriptRetryable(nowLua + presenceAddLua)
	// presenceRemoveScript removes a client from a room and publishes its leave event.
	presenceRemoveScript = rueidis.NewLuaScriptRetryable(presenceRemoveLua)
	// presenceRefreshScript extends this instance's entries and sweeps expired ones.
	presenceRefreshScript = rueidis.NewLuaScriptRetryable(nowLua + presenceRefreshLua)
	// presenceListScript lists the clients whose entries have not expired.
	presenceListScript = rueidis.NewLuaScriptRetryable(nowLua + presenceListLua)
)
