/*
 * Fused softmax cross-entropy over a batch, in ONE work-group, so that the
 * mean loss is reduced on the device in a fixed order (deterministic, no
 * atomics, no second launch) and the caller never has to synchronise.
 *
 * Options:
 *   -DWG=<n>    required: work-group size, a power of two; the kernel is
 *               launched as exactly one group of WG work-items.
 *   -DTEAM=<n>  optional (default 1): work-items per sample, a power of two
 *               dividing WG. The group is split into WG/TEAM teams; team t
 *               handles samples t, t + WG/TEAM, ...; the TEAM lanes of a team
 *               stride over the K classes and reduce the row's maximum and
 *               sum in local memory. TEAM 1 (one work-item per sample, no
 *               barrier per sample) suits CPUs; GPUs want a team per row so
 *               that reads of a row coalesce.
 *
 * Work-item: lane `lane` of team `team`; for each of its team's samples n it
 * computes m = max_k z[n,k], s = sum_k exp(z[n,k] - m), writes
 * dlogits[n,k] = (exp(z[n,k] - m) / s - (k == label)) / N for its classes and,
 * as lane 0, adds loss_n = log(s) + m - z[n,label] to its running sum. A label
 * that is not an integer in 0..K-1 makes loss_n and the row of dlogits NaN.
 *
 * Arguments: logits, labels, dlogits, loss as (buffer, element offset) pairs;
 * N, K; want_dlogits, want_loss (0 or 1: the op passes a dummy buffer for a
 * NULL output). dlogits may alias logits: every element is read by the
 * work-item that writes it, and z[n,label] is read before the row's barriers.
 */
#ifndef WG
#error "WG must be passed with -DWG=<n>"
#endif
#ifndef TEAM
#define TEAM 1
#endif
#if (WG & (WG - 1)) != 0 || (TEAM & (TEAM - 1)) != 0 || TEAM > WG
#error "WG and TEAM must be powers of two with TEAM <= WG"
#endif

#define TEAMS (WG / TEAM)

#if TEAM > 1
/* Reduces v over the TEAM lanes of the caller's team; every work-item of the
 * group must call it (it holds barriers). */
static float team_reduce(__local float *red, int lid, int lane, float v, int is_max)
{
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = TEAM / 2; s > 0; s >>= 1) {
        if (lane < s)
            red[lid] = is_max ? fmax(red[lid], red[lid + s]) : red[lid] + red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = red[lid - lane];
    /* red is rewritten by the next reduction; the global fence orders lane
     * 0's read of z[n,label] before the other lanes' writes of dlogits,
     * which may alias logits (a local fence orders local memory only) */
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    return r;
}
#endif

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void softmax_xent_fwd_bwd(const __global float *logits, int logits_off,
                          const __global float *labels, int labels_off,
                          __global float *dlogits, int dlogits_off,
                          __global float *loss, int loss_off,
                          int N, int K, int want_dlogits, int want_loss)
{
    __local float red[WG];
    const int lid = (int)get_local_id(0);
    const int team = lid / TEAM;
    const int lane = lid % TEAM;
    const float inv_n = 1.0f / (float)N;
    float acc = 0.0f; /* this team's loss sum, kept by lane 0 */

    const int rounds = (N + TEAMS - 1) / TEAMS;
    for (int r = 0; r < rounds; r++) {
        /* rounds is uniform, so every work-item reaches the team barriers;
         * a team past the last sample just idles through them */
        const int n = r * TEAMS + team;
        const int active = n < N;
        const size_t row = (size_t)(active ? n : 0) * (size_t)K;
        const __global float *z = logits + logits_off + row;

        int label = -1;
        float z_label = 0.0f;
        if (active) {
            float lf = labels[labels_off + n];
            /* NaN fails every comparison, so it is invalid too */
            if (lf >= 0.0f && lf < (float)K && lf == floor(lf)) {
                label = (int)lf;
                if (lane == 0)
                    z_label = z[label];
            }
        }

        float m = -INFINITY;
        if (active)
            for (int k = lane; k < K; k += TEAM)
                m = fmax(m, z[k]);
#if TEAM > 1
        m = team_reduce(red, lid, lane, m, 1);
#endif
        float s = 0.0f;
        if (active)
            for (int k = lane; k < K; k += TEAM)
                s += exp(z[k] - m);
#if TEAM > 1
        s = team_reduce(red, lid, lane, s, 0);
#endif
        if (!active)
            continue;
        if (lane == 0)
            acc += label >= 0 ? log(s) + (m - z_label) : NAN;
        if (want_dlogits) {
            __global float *d = dlogits + dlogits_off + row;
            const float inv_s = 1.0f / s;
            for (int k = lane; k < K; k += TEAM) {
                float p = exp(z[k] - m) * inv_s;
                d[k] = label >= 0 ? (p - (k == label ? 1.0f : 0.0f)) * inv_n : NAN;
            }
        }
    }

    if (want_loss) {
        /* fixed-order tree over the group: the same sum every run */
        red[lid] = acc;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int s = WG / 2; s > 0; s >>= 1) {
            if (lid < s)
                red[lid] += red[lid + s];
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        if (lid == 0)
            loss[loss_off] = red[0] / (float)N;
    }
}
