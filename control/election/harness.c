/* kraftd: the one harness that carries out the election core's actions, for the node,
 * kraftsim and the cluster unit test alike (include/kraft/election.h, "THE HARNESS"). */
#include <errno.h>

#include "election_int.h"

int
kr_el_harness_step(struct kr_el_harness *h)
{
	const struct kr_el_ops *ops = h->ops;
	const struct kr_el_action *a;
	struct kr_cmd cmd;
	int rc = 0;

	if (h->next >= h->out.n) {
		h->out.n = h->next = 0;
		return 0;
	}
	a = &h->out.a[h->next];
	switch (a->type) {
	case KR_EL_PERSIST:
		rc = ops->persist(h->arg, &a->u.persist);
		break;
	case KR_EL_SEND:
	case KR_EL_COMMAND:
		if (kr_control_command(h->e, h->wire, a, &cmd) != 0) {
			h->encode_errors++; /* dropped: the shell reports the count */
			break;
		}
		rc = ops->command(h->arg, a, &cmd);
		break;
	case KR_EL_TRANSITION:
		if (ops->transition != NULL)
			ops->transition(h->arg, a);
		break;
	case KR_EL_VOTE_UNBLOCKED:
		ops->unblocked(h->arg);
		break;
	case KR_EL_REJOIN:
		rc = ops->rejoin(h->arg, a);
		break;
	case KR_EL_SHUTDOWN_DONE:
		if (ops->shutdown_done != NULL)
			ops->shutdown_done(h->arg);
		break;
	default:
		EL_ASSERT(0); /* an action type the core does not produce */
	}
	if (rc != 0)
		return rc; /* -EAGAIN keeps the action for the next call */
	h->next++;
	return 1;
}

int
kr_el_harness_run(struct kr_el_harness *h)
{
	int rc;

	while ((rc = kr_el_harness_step(h)) == 1)
		;
	return rc;
}
