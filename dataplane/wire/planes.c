/* kraftd: names of the commands and events between the planes (include/kraft/planes.h),
 * and of the election core's roles, which both planes report (log lines, telemetry). */
#include "kraft/election.h"
#include "kraft/planes.h"

const char *
kr_role_name(unsigned role)
{
	static const char *const names[KR_ROLE_COUNT] = {
		"unattached", "prospective", "candidate", "leader", "follower", "resigned",
	};

	return role < KR_ROLE_COUNT ? names[role] : "?";
}

const char *
kr_cmd_name(unsigned type)
{
	static const char *const names[] = {
		[KR_CMD_FENCE] = "FENCE",	[KR_CMD_LEADER] = "LEADER",
		[KR_CMD_FOLLOWER] = "FOLLOWER", [KR_CMD_UNATTACHED] = "UNATTACHED",
		[KR_CMD_SEND] = "SEND",		[KR_CMD_IDENTITY] = "IDENTITY",
	};

	return type < sizeof(names) / sizeof(names[0]) && names[type] ? names[type] : "?";
}

const char *
kr_event_name(unsigned type)
{
	static const char *const names[] = {
		[KR_EV_FENCE_ACK] = "FENCE_ACK",
		[KR_EV_PACKET] = "PACKET",
		[KR_EV_LEADER_FETCHED] = "LEADER_FETCHED",
		[KR_EV_REPLICA_FETCHED] = "REPLICA_FETCHED",
		[KR_EV_EPOCH_SEEN] = "EPOCH_SEEN",
		[KR_EV_CAUGHT_UP] = "CAUGHT_UP",
		[KR_EV_FATAL] = "FATAL",
		[KR_EV_VOTERS] = "VOTERS",
		[KR_EV_LEFT_VOTERS] = "LEFT_VOTERS",
	};

	return type < sizeof(names) / sizeof(names[0]) && names[type] ? names[type] : "?";
}
