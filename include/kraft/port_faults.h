/* kraftd: the port fault layer of test builds (-Dcrash_test=true): what this kernel's
 * missing netem would do, on every transport, memif included. The dataplane reads a file
 * in the data directory, test-port-faults, every 100 ms ("drop=P dup=P delay=P
 * delay_us=MAX", percentages of received datagrams, decimals allowed: 0.05; delayed ones
 * are held for a random 0..MAX us, which also reorders them); no file, no faults.
 * Received datagrams pass through kn_faults_rx; held ones come back through
 * kn_faults_due. No allocation or syscall per datagram: the held datagrams live in a
 * fixed table made at start. */
#ifndef KRAFT_PORT_FAULTS_H
#define KRAFT_PORT_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kraft/port.h"

struct kn_faults;

struct kn_fault_stats {
	uint64_t dropped, duplicated, delayed, overflow; /* overflow: the table was full */
};

/** The layer, off. @return NULL when out of memory. */
struct kn_faults *kn_faults_new(void);
void kn_faults_free(struct kn_faults *f);

/**
 * Read DIR/test-port-faults again. @return true when the settings changed, with what
 * they are now in text (for the log).
 */
bool kn_faults_reload(struct kn_faults *f, const char *dir, char *text, size_t textlen);

/** Whether received datagrams need kn_faults_rx (held ones come back regardless). */
bool kn_faults_active(const struct kn_faults *f);

/** A received datagram: how many copies to deliver now (0: dropped or held, 1, 2). */
int kn_faults_rx(struct kn_faults *f, const struct kn_rx *rx, int64_t now_us);

/** A held datagram whose time has come (its data valid until the next call), or false. */
bool kn_faults_due(struct kn_faults *f, int64_t now_us, struct kn_rx *out);

const struct kn_fault_stats *kn_faults_stats(const struct kn_faults *f);

#endif /* KRAFT_PORT_FAULTS_H */
