// C++ exceptions built with em++ -fwasm-exceptions (the legacy
// exception-handling proposal's try, catch_all, rethrow and throw): throws
// through several frames, a virtual call and a function pointer;
// destructors run while unwinding; rethrow with `throw;`; the standard
// library's own exceptions; a throw inside a catch block; many throws in a
// loop. "uncaught" as argv[1] ends in std::terminate.
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

static int destroyed = 0;

struct Guard {
    const char *name;
    explicit Guard(const char *n) : name(n) {}
    ~Guard() { destroyed++; std::printf("~Guard(%s)\n", name); }
};

struct Error {
    int code;
};

__attribute__((noinline)) static int deep(int n)
{
    Guard g("deep");
    if (n == 0)
        throw Error{42};
    return deep(n - 1) + 1;
}

struct Shape {
    virtual ~Shape() = default;
    virtual double area() const = 0;
};
struct Bad : Shape {
    double area() const override { throw std::runtime_error("no area"); }
};

__attribute__((noinline)) static void call(void (*fn)(int), int v) { fn(v); }
static void thrower(int v) { throw v; }

int main(int argc, char **argv)
{
    if (argc > 1 && std::strcmp(argv[1], "uncaught") == 0) {
        std::printf("throwing past main\n");
        std::fflush(stdout);
        throw Error{1};
    }
    try {
        deep(3);
    } catch (const Error &e) {
        std::printf("caught Error %d after %d destructors\n", e.code, destroyed);
    }
    Bad bad;
    const Shape &s = bad;
    try {
        s.area();
    } catch (const std::exception &e) {
        std::printf("caught std::exception: %s\n", e.what());
    }
    try {
        call(thrower, 7);
    } catch (int v) {
        std::printf("caught int %d through a function pointer\n", v);
    }
    try {
        try {
            Guard g("inner");
            throw std::string("first");
        } catch (const std::string &s1) {
            std::printf("inner caught %s, rethrowing\n", s1.c_str());
            throw;
        }
    } catch (const std::string &s2) {
        std::printf("outer caught %s again\n", s2.c_str());
    }
    try {
        try {
            throw Error{1};
        } catch (const Error &) {
            throw std::logic_error("from a catch block");
        }
    } catch (const std::logic_error &e) {
        std::printf("caught %s\n", e.what());
    }
    std::vector<int> v(3);
    try {
        v.at(10) = 1;
    } catch (const std::out_of_range &) {
        std::printf("vector::at threw out_of_range\n");
    }
    long sum = 0;
    for (int i = 0; i < 100000; i++) {
        try {
            if (i % 3 == 0)
                throw Error{i};
            sum += 1;
        } catch (const Error &e) {
            sum += e.code;
        }
    }
    std::printf("sum %ld, destructors %d\n", sum, destroyed);
    return 0;
}
