// Marshalling work onto the main context.
//
// webrtcbin, appsink and GSubprocess call us back from their own threads, some of them while
// holding webrtcbin's lock (touching webrtcbin there deadlocks in 1.22.0). Every such callback
// only copies what it got and queues the real work here, so all server state lives on one thread
// and needs no locks.
#pragma once

#include <functional>

namespace rts {

// Queue fn on the default main context. Safe from any thread; jobs run in the order queued.
void run_on_main(std::function<void()> fn);

}  // namespace rts
