// DPDK capture runs (capture.mode: dpdk, or --dpdk): frames from the ports of
// `capture.dpdk.ports` through `capture.workers` workers, in one of two layouts:
//  - run to completion: when every port has one RSS queue per worker (symmetric key), or with
//    one worker, worker w reads queue w of every port itself and processes the frames in place
//    (zero copy), on its own EAL lcore when the EAL has one per worker (`-l 0-N`), otherwise on
//    a thread;
//  - dispatch: when a port has no RSS (net_pcap: one queue per rx_pcap) or too few queues (then
//    one queue), or `rx-queues` differs from the workers, one RX thread reads every queue of
//    every port and hands each frame to its worker by the symmetric flow hash of
//    capture_dispatch (copied into the worker's ring, waiting when it is full, so drops show up
//    at the port as imissed), as the libpcap capture does.
// The run ends on SIGINT/SIGTERM or after `capture.dpdk.idle-exit` seconds without a frame: the
// RX loops stop (the descriptors already filled are drained, bounded), workers end their flows,
// the stats record (rte_eth_stats in stats.capture) is written, outputs flushed, the EAL
// cleaned up; exit 0. A port or EAL that cannot be set up: exit 2 before any output. Built
// without DPDK: exit 2 with a message. Returns the process exit code.
#pragma once

#include <memory>

#include "config/settings.hpp"
#include "sensor/inventory/inventory_store.hpp"
#include "sensor/main/cli.hpp"
#include "signatures/rule_compiler.hpp"

namespace eastwatch {

// `inventory` (null: none) is read by every worker as on the libpcap path (RunInventory).
int run_dpdk(const CliOptions& options, const Settings& settings, std::shared_ptr<const CompiledRuleSet> rules,
             const InventoryStore* inventory = nullptr);

}  // namespace eastwatch
