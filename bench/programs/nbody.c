/* nbody: floating-point n-body simulation. 40 bodies with pseudo-random
 * positions, velocities and masses attract each other (softened gravity,
 * O(n^2) pairs per step); a symplectic Euler step is taken `steps` times
 * (default 100000) and the total energy is printed before and after.
 *
 * Only +, -, *, / and sqrt: all correctly rounded in IEEE 754, so every
 * conforming target prints the same digits.
 *
 * usage: nbody [steps] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define BODIES 40
#define SOFTENING 0.01
#define DT 0.001

struct body {
    double x, y, z, vx, vy, vz, mass;
};

static unsigned rng_state = 2024;

static double rng_unit(void)     /* in [0, 1), 24 bits */
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (double)(rng_state >> 8) / 16777216.0;
}

static void bodies_init(struct body *b)
{
    for (int i = 0; i < BODIES; i++) {
        b[i].x = rng_unit() * 2 - 1;
        b[i].y = rng_unit() * 2 - 1;
        b[i].z = rng_unit() * 2 - 1;
        b[i].vx = (rng_unit() - 0.5) * 0.1;
        b[i].vy = (rng_unit() - 0.5) * 0.1;
        b[i].vz = (rng_unit() - 0.5) * 0.1;
        b[i].mass = 0.5 + rng_unit();
    }
}

static double energy(const struct body *b)
{
    double e = 0.0;
    for (int i = 0; i < BODIES; i++) {
        e += 0.5 * b[i].mass *
             (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
        for (int j = i + 1; j < BODIES; j++) {
            double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
            e -= b[i].mass * b[j].mass / sqrt(dx * dx + dy * dy + dz * dz + SOFTENING);
        }
    }
    return e;
}

static void step(struct body *b)
{
    for (int i = 0; i < BODIES; i++)
        for (int j = i + 1; j < BODIES; j++) {
            double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
            double d2 = dx * dx + dy * dy + dz * dz + SOFTENING;
            double mag = DT / (d2 * sqrt(d2));
            double mi = b[i].mass * mag, mj = b[j].mass * mag;
            b[i].vx -= dx * mj;
            b[i].vy -= dy * mj;
            b[i].vz -= dz * mj;
            b[j].vx += dx * mi;
            b[j].vy += dy * mi;
            b[j].vz += dz * mi;
        }
    for (int i = 0; i < BODIES; i++) {
        b[i].x += DT * b[i].vx;
        b[i].y += DT * b[i].vy;
        b[i].z += DT * b[i].vz;
    }
}

int main(int argc, char **argv)
{
    unsigned steps = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 100000;
    struct body b[BODIES];
    bodies_init(b);
    double e0 = energy(b);
    for (unsigned s = 0; s < steps; s++)
        step(b);
    printf("nbody steps=%u energy=%.12e -> %.12e x0=%.12e\n", steps, e0,
           energy(b), b[0].x);
    return 0;
}
