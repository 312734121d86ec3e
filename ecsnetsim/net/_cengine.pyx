# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, infer_types=False
"""The packet engine's hot path, compiled: the same algorithm as the pure-Python cores of
:mod:`ecsnetsim.net.engine`, with C data where Python objects cost most.

:mod:`ecsnetsim.net.engine` uses these classes when this module is built (a C compiler and
Cython at install time) and its own pure-Python cores otherwise; the public classes there
derive from one or the other, so their API and their results are the same either way
(a test runs a scenario both ways and compares every number).

What is compiled and why it is faster:

* the packet events are C structs ``(time, eid, slot)`` on a C array heap, compared as
  two numbers instead of Python tuples; the handler and the packet of an event sit in a
  Python list at ``slot`` (so the garbage collector sees them: a run stopped with
  packets in flight is freed like any other);
* a server pool's free times and a device's buffer occupancy are C arrays of doubles;
* a device's stages and a flow's delivery are C methods reached through a small
  :class:`Stage` object, itself callable from Python with ``(packet, now)`` so that a
  route's ``_path`` may still hold any Python callable (the loop calls those the slow way);
* per-device and per-flow counters are C fields, exposed as attributes.

* a source's packets, the choice of their sender and target and the lookup of their
  route (:class:`SourceCore`, :class:`Choice`, :class:`TargetSet`) run in the loop with
  no Python call per packet.

The classes and their methods have the pure-Python twin's names (``PacketLoop``,
``Packet``, ``RouteCore``, ``Draws``, ``ServerCore``, ``DeviceCore``, ``FlowCore``,
``EngineCore``, ``TargetSet``, ``Choice``, ``SourceCore``); where the twin binds a
device's handlers as methods (``_cpu``, ``_cpu_then_link``, ``_link``, ``_link_only``,
``_delay``; a flow's ``_deliver``, ``_deliver_recorded``), this module binds
:class:`Stage` objects of the same kinds, which run the shared ``_cpu_stage``,
``_link_stage`` and ``_delay_stage``. Every floating-point operation is the same, in the
same order, as in the pure-Python engine, and events take their numbers from the one
counter at the same moments, so results are byte-identical.
"""

cimport cython
from cpython cimport array as carray
from cpython.list cimport PyList_GET_ITEM, PyList_SET_ITEM
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject

import math

cdef double INF = math.inf

CORE_VERSION = 3  # the interface version: the pure-Python twin's CORE_VERSION

# --------------------------------------------------------------------------- C heaps

cdef struct Ev:
    double t
    long long eid
    Py_ssize_t slot  # the handler at _objs[2 * slot], the packet at _objs[2 * slot + 1]


cdef inline bint _ev_lt(Ev* a, Ev* b) noexcept nogil:
    return a.t < b.t or (a.t == b.t and a.eid < b.eid)


cdef struct DHeap:
    double* a
    Py_ssize_t n
    Py_ssize_t cap


cdef int _dheap_reserve(DHeap* h, Py_ssize_t need) except -1:
    cdef Py_ssize_t cap
    cdef double* a
    if need <= h.cap:
        return 0
    cap = h.cap * 2 if h.cap else 16
    while cap < need:
        cap *= 2
    a = <double*>PyMem_Realloc(h.a, cap * sizeof(double))
    if a == NULL:
        raise MemoryError()
    h.a = a
    h.cap = cap
    return 0


cdef inline void _dheap_siftdown(double* a, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    """Move ``a[i]`` down to its place (a min-heap of ``n`` values)."""
    cdef double v = a[i]
    cdef Py_ssize_t c
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and a[c + 1] < a[c]:
            c += 1
        if a[c] < v:
            a[i] = a[c]
            i = c
        else:
            break
    a[i] = v


cdef inline int _dheap_push(DHeap* h, double v) except -1:
    cdef Py_ssize_t i, parent
    cdef double* a
    if h.n >= h.cap:
        _dheap_reserve(h, h.n + 1)
    a = h.a
    i = h.n
    h.n += 1
    while i > 0:
        parent = (i - 1) >> 1
        if v < a[parent]:
            a[i] = a[parent]
            i = parent
        else:
            break
    a[i] = v
    return 0


cdef inline void _dheap_pop(DHeap* h) noexcept nogil:
    h.n -= 1
    if h.n > 0:
        h.a[0] = h.a[h.n]
        _dheap_siftdown(h.a, h.n, 0)


cdef inline void _set(list objs, Py_ssize_t i, object value) noexcept:
    """``objs[i] = value`` for an index known to be in range."""
    cdef PyObject* old = PyList_GET_ITEM(objs, i)
    Py_INCREF(value)
    PyList_SET_ITEM(objs, i, value)
    Py_XDECREF(old)


# --------------------------------------------------------------------------- the loop

cdef class PacketLoop:
    """The packet events of one simpy environment, on a C heap of their own.

    Same contract as the pure-Python :class:`ecsnetsim.net.engine.PacketLoop`: one loop per
    :class:`~ecsnetsim.net.engine.Environment`, which hands it its simpy event queue and
    its event counter and steps through it; events ``(time, eid, handler, packet)`` with
    ``eid`` from that counter, run in ``(time, eid)`` order interleaved with the simpy
    events by ``(time, priority, eid)``.
    ``heap`` gives the pending events as a list of tuples (a copy).
    """

    cdef Ev* ev
    cdef Py_ssize_t n
    cdef Py_ssize_t cap
    cdef list _objs
    cdef Py_ssize_t* _free  # slots of _objs not in use (a stack)
    cdef Py_ssize_t _nfree
    cdef public object env
    cdef long long _eid
    cdef public object head
    cdef object _simpy_step
    cdef list _queue
    cdef bint _stop

    def __cinit__(self):
        self.ev = NULL
        self._free = NULL
        self.n = 0
        self.cap = 0
        self._nfree = 0
        self._objs = []

    def __init__(self, env, list queue):
        self.env = env
        self._eid = 0
        self.head = None
        self._queue = queue
        self._simpy_step = env.step_event

    def __dealloc__(self):
        PyMem_Free(self.ev)
        PyMem_Free(self._free)

    @classmethod
    def of(cls, env):
        """The environment's loop."""
        return env.packet_loop

    def next_eid(self):
        """The next event number, for a simpy event or a packet event."""
        cdef long long eid = self._eid
        self._eid += 1
        return eid

    # ------------------------------------------------------------------ the heap
    cdef int push(self, double t, object fn, object p) except -1:
        """Schedule ``fn(p, t)`` with the next event number."""
        cdef long long eid = self._eid
        self._eid += 1
        cdef Ev* ev
        cdef Ev* a
        cdef Py_ssize_t* free
        cdef Py_ssize_t i, parent, slot
        if self.n >= self.cap:
            cap = self.cap * 2 if self.cap else 64
            ev = <Ev*>PyMem_Realloc(self.ev, cap * sizeof(Ev))
            if ev == NULL:
                raise MemoryError()
            self.ev = ev
            free = <Py_ssize_t*>PyMem_Realloc(self._free, cap * sizeof(Py_ssize_t))
            if free == NULL:
                raise MemoryError()
            self._free = free
            self.cap = cap
        if self._nfree:
            self._nfree -= 1
            slot = self._free[self._nfree]
            _set(self._objs, 2 * slot, fn)
            _set(self._objs, 2 * slot + 1, p)
        else:  # every slot below n is in use
            slot = self.n
            self._objs.append(fn)
            self._objs.append(p)
        a = self.ev
        i = self.n
        self.n += 1
        while i > 0:
            parent = (i - 1) >> 1
            if t < a[parent].t or (t == a[parent].t and eid < a[parent].eid):
                a[i] = a[parent]
                i = parent
            else:
                break
        a[i].t = t
        a[i].eid = eid
        a[i].slot = slot
        return 0

    cdef void _remove_top(self) noexcept:
        """Drop the first event from the heap (its slot is the caller's to free)."""
        cdef Ev* a = self.ev
        cdef Ev last
        cdef Py_ssize_t n, i, c
        self.n -= 1
        n = self.n
        if n == 0:
            return
        last = a[n]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= n:
                break
            if c + 1 < n and _ev_lt(&a[c + 1], &a[c]):
                c += 1
            if _ev_lt(&a[c], &last):
                a[i] = a[c]
                i = c
            else:
                break
        a[i] = last

    def schedule(self, double t, fn, p=None):
        """Schedule ``fn(p, t)`` at time ``t`` (``t`` >= now), after every event scheduled
        before it at the same time."""
        self.push(t, fn, p)

    @property
    def heap(self):
        """The pending events as ``(time, eid, handler, packet)`` tuples, in heap order."""
        cdef Py_ssize_t i
        return [(self.ev[i].t, self.ev[i].eid, self._objs[2 * self.ev[i].slot],
                 self._objs[2 * self.ev[i].slot + 1]) for i in range(self.n)]

    def packets(self):
        """The packets in flight: every pending packet event's packet (one each)."""
        cdef Py_ssize_t i
        objs = [self._objs[2 * self.ev[i].slot + 1] for i in range(self.n)]
        return [p for p in objs if isinstance(p, Packet)]

    # ------------------------------------------------------------------ driving
    def peek(self):
        """Time of the next event of either queue (``inf`` if there is none)."""
        q = self._queue
        t = q[0][0] if q else INF
        return min(t, self.ev[0].t) if self.n else t

    def step(self):
        """Run the packet events due before the next simpy event, or else that event."""
        cdef double t
        cdef long long eid
        cdef Ev* first
        if self.n:
            q = self._queue
            if q:
                head = q[0]
                t = head[0]
                eid = head[2]
                if head[1] != 1:  # URGENT: before packet events of the same time
                    eid = -1
            else:
                head, t, eid = None, INF, 0
            first = &self.ev[0]
            if first.t < t or (first.t == t and first.eid < eid):
                self.head = head
                self._batch(t, eid)
                return
        self._simpy_step()

    cdef int _batch(self, double t_bound, long long eid_bound) except -1:
        """The hot loop: handle packet events while they sort before ``(t_bound,
        eid_bound)``, the first simpy event."""
        cdef Ev e
        cdef object fn, p
        cdef double now = 0.0
        cdef bint ran = False
        self._stop = False
        while self.n:
            e = self.ev[0]
            if e.t >= t_bound and (e.t > t_bound or e.eid > eid_bound):
                break
            self._remove_top()
            # the slot keeps its objects until it is reused (the collector sees them)
            fn = <object>PyList_GET_ITEM(self._objs, 2 * e.slot)
            p = <object>PyList_GET_ITEM(self._objs, 2 * e.slot + 1)
            self._free[self._nfree] = e.slot
            self._nfree += 1
            now = e.t
            ran = True
            if type(fn) is Stage:
                (<Stage>fn).run(<Packet>p, e.t)
            elif type(fn) is SourceCore:
                (<SourceCore>fn).fire(e.t)
            else:
                fn(p, e.t)
            if self._stop:
                break
        if ran:
            self.env._now = now
        return 0

    def rebound(self):
        """End the running batch if the first simpy event is no longer ``head``."""
        self._rebound()

    cdef inline void _rebound(self) noexcept:
        q = self._queue
        head = q[0] if q else None
        if head is not self.head:
            self.head = head  # one stop per change
            self._stop = True


# --------------------------------------------------------------------------- routes

cdef class RouteCore:
    """What a packet reads of its route (see :class:`ecsnetsim.net.engine.Route`): its
    flow, its handlers (``_path``, the devices' entries then the flow's), the first of
    them, and the engine it is bound to."""

    cdef public object stats
    cdef public tuple _path
    cdef public object _first
    cdef public object _engine


# --------------------------------------------------------------------------- packets

@cython.freelist(256)
cdef class Packet:
    """One packet in flight (see :class:`ecsnetsim.net.engine.Packet`)."""

    cdef public tuple path
    cdef public object route
    cdef public long hop
    cdef object _size
    cdef double _dsize
    cdef public double sent
    cdef public bint measured

    def __init__(self, route, size, double sent, bint measured):
        self.route = route
        self.path = route._path
        self.hop = 0
        self.size = size
        self.sent = sent
        self.measured = measured

    @property
    def size(self):
        return self._size

    @size.setter
    def size(self, value):
        self._dsize = value
        self._size = value

    def __repr__(self):
        return f"<Packet hop={self.hop} size={self.size} sent={self.sent}>"


cdef inline Packet _new_packet(RouteCore route, object size, double dsize, double sent,
                               bint measured):
    cdef Packet p = Packet.__new__(Packet)
    p.route = route
    p.path = route._path
    p.hop = 0
    p._size = size
    p._dsize = dsize
    p.sent = sent
    p.measured = measured
    return p


# --------------------------------------------------------------------------- stages

cdef enum:
    K_CPU = 0
    K_CPU_LINK = 1
    K_LINK = 2
    K_LINK_ONLY = 3
    K_DELAY = 4
    K_SINK = 5
    K_SINK_RECORDED = 6
    K_POLICED = 7

_KIND_NAMES = ("cpu", "cpu_then_link", "link", "link_only", "delay", "deliver",
               "deliver_recorded", "policed")


cdef class Stage:
    """One handler of a device or a flow: ``stage(packet, now)`` runs it."""

    cdef int kind
    cdef DeviceCore dev
    cdef FlowCore flow

    def __call__(self, p, double now):
        self.run(<Packet?>p, now)

    def __repr__(self):
        owner = self.dev if self.dev is not None else self.flow
        return f"<Stage {_KIND_NAMES[self.kind]} of {owner!r}>"

    cdef int run(self, Packet p, double now) except -1:
        cdef int k = self.kind
        if k == K_CPU:
            return self.dev._cpu_stage(p, now, False)
        if k == K_CPU_LINK:
            return self.dev._cpu_stage(p, now, True)
        if k == K_LINK:
            return self.dev._link_stage(p, now, False)
        if k == K_LINK_ONLY:
            return self.dev._link_stage(p, now, True)
        if k == K_DELAY:
            return self.dev._delay_stage(p, now)
        if k == K_SINK:
            return self.flow._deliver_c(p, now)
        if k == K_POLICED:
            return self.dev._policed_stage(p, now)
        return self.flow._deliver_recorded_c(p, now)


cdef Stage _stage(int kind, DeviceCore dev, FlowCore flow):
    cdef Stage s = Stage.__new__(Stage)
    s.kind = kind
    s.dev = dev
    s.flow = flow
    return s


# --------------------------------------------------------------------------- draws

import numpy as np


cdef class Draws:
    """Random values served one at a time from blocks (see the pure-Python ``Draws``):
    each block, a float64 array from ``fill(block)``, is copied into a C array and served
    by index, the same floats in the same order as the pure-Python engine serves them."""

    cdef public object fill
    cdef public Py_ssize_t block
    cdef public long long served
    cdef double* buf
    cdef Py_ssize_t i

    def __cinit__(self):
        self.buf = NULL
        self.i = 0

    def __init__(self, fill, block=4096):
        if int(block) != block or block < 1:
            raise ValueError("block must be an integer >= 1")
        self.fill = fill
        self.block = int(block)
        self.served = 0
        self.buf = <double*>PyMem_Realloc(self.buf, self.block * sizeof(double))
        if self.buf == NULL:
            raise MemoryError()
        self.i = self.block  # empty: the first value fills it

    def __dealloc__(self):
        PyMem_Free(self.buf)

    cdef int _refill(self) except -1:
        cdef const double[::1] a
        cdef Py_ssize_t k
        arr = np.ascontiguousarray(self.fill(self.block), dtype=np.float64)
        if arr.shape != (self.block,):
            raise ValueError(f"fill({self.block}) returned {arr.shape[0] if arr.ndim else 0} "
                             "values")
        a = arr
        for k in range(self.block):
            self.buf[k] = a[k]
        self.i = 0
        self.served += self.block
        return 0

    cdef inline double next(self) except? -1.0:
        if self.i >= self.block:
            self._refill()
        self.i += 1
        return self.buf[self.i - 1]

    def __call__(self):
        """The next value."""
        return self.next()


# --------------------------------------------------------------------------- pools

cdef class ServerCore:
    """The free times of a pool's servers (see :class:`ecsnetsim.net.engine.Server`)."""

    cdef public int servers
    cdef DHeap free

    def __dealloc__(self):
        PyMem_Free(self.free.a)

    def _reset_free(self):
        """Every server free since ever (called when an engine first uses the pool)."""
        cdef Py_ssize_t i
        _dheap_reserve(&self.free, self.servers)
        self.free.n = self.servers
        for i in range(self.servers):
            self.free.a[i] = -INF

    @property
    def _heap(self):
        """The servers' free times, in heap order (a copy)."""
        return [self.free.a[i] for i in range(self.free.n)]


# --------------------------------------------------------------------------- allowances

cdef class AllowanceCore:
    """An instance's ENA allowances (see the pure-Python ``AllowanceCore``): a PPS bucket
    for both directions and a bandwidth bucket per direction, each a theoretical arrival
    time (GCRA), with the same floating-point operations in the same order."""

    cdef public double pps_rate
    cdef public double pps_limit
    cdef public double pps_tat
    cdef public double in_rate
    cdef public double in_limit
    cdef public double in_tat
    cdef public double out_rate
    cdef public double out_limit
    cdef public double out_tat
    cdef public long long pps_allowance_exceeded
    cdef public long long bw_in_allowance_exceeded
    cdef public long long bw_out_allowance_exceeded
    cdef public dict by_flow

    def _admit(self, p, double now, bint outbound):
        return bool(self._admit_c(<Packet?>p, now, outbound))

    cdef int _admit_c(self, Packet p, double now, bint outbound) except -1:
        """1 if ``p`` conforms to the PPS allowance and to its direction's bandwidth
        allowance (both then take it); else 0, the first it exceeds counting it."""
        cdef double t = self.pps_tat
        cdef double b
        if t < now:
            t = now
        t += 1.0 / self.pps_rate
        if t - now > self.pps_limit:
            if p.measured:
                self.pps_allowance_exceeded += 1
                self._count(p, 0)
            return 0
        if outbound:
            b = self.out_tat
            if b < now:
                b = now
            b += p._dsize / self.out_rate
            if b - now > self.out_limit:
                if p.measured:
                    self.bw_out_allowance_exceeded += 1
                    self._count(p, 2)
                return 0
            self.out_tat = b
        else:
            b = self.in_tat
            if b < now:
                b = now
            b += p._dsize / self.in_rate
            if b - now > self.in_limit:
                if p.measured:
                    self.bw_in_allowance_exceeded += 1
                    self._count(p, 1)
                return 0
            self.in_tat = b
        self.pps_tat = t
        return 1

    cdef int _count(self, Packet p, int which) except -1:
        stats = p.route.stats
        found = self.by_flow.get(stats)
        if found is None:
            found = self.by_flow[stats] = [0, 0, 0]
        found[which] += 1
        return 0


# --------------------------------------------------------------------------- devices

cdef class DeviceCore:
    """A device's per-packet state and stages (see :class:`ecsnetsim.net.engine.Device`)."""

    cdef public double service
    cdef public double latency
    cdef object _bandwidth
    cdef double _bw  # bandwidth as a C double (0: none)
    cdef object _buffer
    cdef long long _buf  # buffer as a C integer, when _bounded
    cdef bint _bounded
    cdef public object service_sampler
    cdef public object jitter
    cdef public object cpu
    cdef public object link
    cdef public long long packets
    cdef public long long drops
    cdef public double cpu_busy
    cdef public double link_busy
    cdef public double wait
    cdef public double jitter_busy
    cdef public double link_wait
    cdef public object _entry
    cdef public object _link
    cdef public object allowance
    cdef public bint outbound
    cdef public object _inner
    cdef AllowanceCore _allowance
    cdef PacketLoop _loop
    cdef ServerCore _cpu_pool
    cdef ServerCore _link_pool
    cdef DHeap _occ
    cdef long long _n

    def __dealloc__(self):
        PyMem_Free(self._occ.a)

    @property
    def bandwidth(self):
        """Bytes per second of the link stage (None: no link stage)."""
        return self._bandwidth

    @bandwidth.setter
    def bandwidth(self, value):
        self._bw = 0.0 if value is None else value
        self._bandwidth = value

    @property
    def buffer(self):
        """Packets the device holds (None: unbounded)."""
        return self._buffer

    @buffer.setter
    def buffer(self, value):
        self._buf = 0 if value is None else value
        self._bounded = value is not None
        self._buffer = value

    def _bind(self, loop):
        """Take the loop and the pools, and choose the entry stage (at first use)."""
        self._loop = <PacketLoop?>loop
        self._occ.n = 0
        self._n = 0
        self._cpu_pool = <ServerCore?>self.cpu if self.cpu is not None else None
        self._link_pool = <ServerCore?>self.link if self.link is not None else None
        self._link = _stage(K_LINK, self, None)
        if self.cpu is not None:
            self._entry = _stage(K_CPU if self.link is None else K_CPU_LINK, self, None)
        elif self.link is not None:
            self._entry = _stage(K_LINK_ONLY, self, None)
        else:
            self._entry = _stage(K_DELAY, self, None)
        if self.allowance is not None:
            self._allowance = <AllowanceCore?>self.allowance
            self._inner = self._entry
            self._entry = _stage(K_POLICED, self, None)

    def _policed(self, p, double now):
        self._policed_stage(<Packet?>p, now)

    cdef int _policed_stage(self, Packet p, double now) except -1:
        """Entry of a device under ENA allowances: a packet beyond them is dropped here
        (counted by the allowance and as the device's drop), never queued."""
        if self._allowance._admit_c(p, now, self.outbound):
            return (<Stage>self._inner).run(p, now)
        if p.measured:
            self.drops += 1
            p.route.stats.dropped += 1
        return 0

    def _drop(self, p):
        if p.measured:
            self.drops += 1
            p.route.stats.dropped += 1

    cdef inline int _admit(self, Packet p, double now) except -1:
        """Finite buffer: settle departures due by now; 0 (and a drop) if full."""
        cdef long long buf = self._buf
        cdef long long n = self._n
        cdef DHeap* occ = &self._occ
        while occ.n and occ.a[0] <= now:
            _dheap_pop(occ)
            n -= 1
        if n >= buf:
            self._n = n
            self._drop(p)
            return 0
        self._n = n + 1
        return 1

    cdef double _draw_jitter(self) except? -1.0:
        """The jitter's next value: C for :class:`Draws`, any other callable as Python."""
        jitter = self.jitter
        if type(jitter) is Draws:
            return (<Draws>jitter).next()
        return jitter()

    cdef int _cpu_stage(self, Packet p, double now, bint then_link) except -1:
        cdef bint bounded = self._bounded
        cdef double s, free, start, done, t, x
        cdef ServerCore pool
        cdef long h
        if bounded and not self._admit(p, now):
            return 0
        pool = self._cpu_pool
        sampler = self.service_sampler
        if sampler is None:
            s = self.service
        elif type(sampler) is Draws:
            s = (<Draws>sampler).next()
        else:
            s = sampler()
        free = pool.free.a[0]
        start = free if free > now else now
        done = start + s
        pool.free.a[0] = done
        _dheap_siftdown(pool.free.a, pool.free.n, 0)
        if p.measured:
            self.packets += 1
            self.cpu_busy += s
            self.wait += start - now
        if then_link:
            self._loop.push(done, self._link, p)
            return 0
        h = p.hop + 1
        p.hop = h
        t = done + self.latency
        if self.jitter is not None:
            x = self._draw_jitter()
            t += x
            if p.measured:
                self.jitter_busy += x
        self._loop.push(t, p.path[h], p)
        if bounded:
            _dheap_push(&self._occ, done)
        return 0

    cdef int _link_stage(self, Packet p, double now, bint entry) except -1:
        cdef bint bounded = self._bounded
        cdef double s, free, start, done, t, x
        cdef ServerCore pool
        cdef long h
        if entry and bounded and not self._admit(p, now):
            return 0
        pool = self._link_pool
        s = p._dsize / self._bw
        free = pool.free.a[0]
        start = free if free > now else now
        done = start + s
        pool.free.a[0] = done
        _dheap_siftdown(pool.free.a, pool.free.n, 0)
        if p.measured:
            if entry:
                self.packets += 1
            self.link_busy += s
            self.wait += start - now
            self.link_wait += start - now
        h = p.hop + 1
        p.hop = h
        t = done + self.latency
        if self.jitter is not None:
            x = self._draw_jitter()
            t += x
            if p.measured:
                self.jitter_busy += x
        self._loop.push(t, p.path[h], p)
        if bounded:
            _dheap_push(&self._occ, done)
        return 0

    cdef int _delay_stage(self, Packet p, double now) except -1:
        cdef long h
        cdef double t, x
        if p.measured:
            self.packets += 1
        h = p.hop + 1
        p.hop = h
        t = now + self.latency
        if self.jitter is not None:
            x = self._draw_jitter()
            t += x
            if p.measured:
                self.jitter_busy += x
        self._loop.push(t, p.path[h], p)
        return 0


# --------------------------------------------------------------------------- flows

cdef class FlowCore:
    """A flow's counters and its delivery (see :class:`ecsnetsim.net.engine.FlowStats`)."""

    cdef public long long sent
    cdef public long long delivered
    cdef public long long dropped
    cdef public long long unreachable
    cdef public object delivered_bytes
    cdef public long long hops_sum
    cdef public long long hops_min
    cdef public long long hops_max
    cdef public carray.array send_times
    cdef public carray.array delivery_times
    cdef public carray.array _lat
    cdef public Py_ssize_t _flush_at
    cdef public object _entry

    def _bind_sink(self, bint record):
        """Choose the delivery handler: compiled unless a subclass or a test replaced it."""
        cls = type(self)
        fast = (cls._deliver is FlowCore._deliver
                and cls._deliver_recorded is FlowCore._deliver_recorded)
        if fast:
            self._entry = _stage(K_SINK_RECORDED if record else K_SINK, None, self)
        else:
            self._entry = self._deliver_recorded if record else self._deliver

    def _deliver(self, p, double now):
        self._deliver_c(<Packet?>p, now)

    def _deliver_recorded(self, p, double now):
        cdef Packet q = <Packet?>p
        if q.measured:
            _append(self.send_times, q.sent)
            _append(self.delivery_times, now)
            self._deliver(q, now)

    cdef int _deliver_recorded_c(self, Packet p, double now) except -1:
        if p.measured:
            _append(self.send_times, p.sent)
            _append(self.delivery_times, now)
            self._deliver_c(p, now)
        return 0

    cdef int _deliver_c(self, Packet p, double now) except -1:
        cdef long h
        cdef carray.array lat
        if p.measured:
            lat = self._lat
            _append(lat, now - p.sent)
            if len(lat) >= self._flush_at:
                self._flush()
            h = p.hop
            if self.delivered:
                if h < self.hops_min:
                    self.hops_min = h
                elif h > self.hops_max:
                    self.hops_max = h
            else:
                self.hops_min = self.hops_max = h
            self.delivered += 1
            self.hops_sum += h
            self.delivered_bytes += p._size
        return 0


cdef inline int _append(carray.array a, double v) except -1:
    cdef Py_ssize_t n = len(a)
    carray.resize_smart(a, n + 1)
    a.data.as_doubles[n] = v
    return 0


# --------------------------------------------------------------------------- engine

cdef class EngineCore:
    """Packet injection (see :class:`ecsnetsim.net.engine.Engine`)."""

    cdef public object env
    cdef public PacketLoop loop
    cdef public double warmup
    cdef public list devices
    cdef public list flows

    def send(self, route, size=1500):
        """Inject one packet of ``size`` bytes at the route's first device at ``env.now``."""
        now = self.env._now
        self._send(route, size, now, now)

    cdef int _send(self, object route, object size, double t, object now) except -1:
        cdef bint measured
        cdef Packet p
        cdef RouteCore r = <RouteCore?>route
        if r._engine is not self:
            route._attach(self)
        measured = t >= self.warmup
        if measured:
            (<FlowCore?>r.stats).sent += 1
        p = _new_packet(r, size, size, t, measured)
        first = r._first
        if type(first) is Stage:
            (<Stage>first).run(p, t)
        else:
            first(p, t if now is None else now)
        return 0

    def unreachable(self, flow_stats):
        """Count one packet that could not be routed (it is never simulated)."""
        self._unreachable(<FlowCore?>flow_stats, self.env._now)

    cdef int _unreachable(self, FlowCore f, double now) except -1:
        if now >= self.warmup:
            f.sent += 1
            f.unreachable += 1
        return 0


# --------------------------------------------------------------------------- sources

cdef object _UNREACHABLE = object()  # a route table's entry: no route for the pair


cdef class TargetSet:
    """A service's healthy targets as its packets see them (see the pure-Python
    ``TargetSet``): re-read from ``service.targets`` only when the service's task tally's
    ``version`` has moved."""

    cdef public object service
    cdef public object tally
    cdef public long long version
    cdef public list tasks

    def __init__(self, service):
        self.service = service
        self.tally = service.tally
        self.version = -1
        self.tasks = []

    def refresh(self):
        """Re-read the targets if they may have changed; the version they are of."""
        return self._refresh(None, 0.0)

    cdef long long _refresh(self, object env, double now) except? -2:
        """As :meth:`refresh`; ``env``'s clock is set to ``now`` before Python runs."""
        cdef long long v = self.tally.version
        if v != self.version:
            if env is not None:
                env._now = now
            tasks = self.service.targets
            self.tasks = tasks if type(tasks) is list else list(tasks)
            self.version = v
        return v


cdef class Choice:
    """The route of a flow's next packet, chosen as the data plane does (see the
    pure-Python ``Choice``): the same draws in the same order, and a route table per
    (sender, target) emptied whenever either service's targets change."""

    cdef public TargetSet senders
    cdef public TargetSet targets
    cdef public bint round_robin
    cdef public Draws uniform
    cdef public object resolve
    cdef public long long turn
    cdef list _table
    cdef long long _sv
    cdef long long _tv

    def __init__(self, senders, targets, round_robin, Draws uniform, resolve):
        self.senders = senders
        self.targets = targets
        self.round_robin = bool(round_robin)
        self.uniform = uniform
        self.resolve = resolve
        self.turn = 0
        self._table = []
        self._sv = -1
        self._tv = -1

    def route(self):
        """The next packet's route, or None (no sender, no target or no route)."""
        return self._route()

    cdef object _route(self):
        return self._route_at(None, 0.0)

    cdef object _route_at(self, object env, double now):
        """The route; ``env``'s clock is set to ``now`` before any Python code runs (a
        service's targets re-read, a route compiled)."""
        cdef Py_ssize_t i = 0, j = 0, n = 1, width = 1, k
        cdef long long sv = 0, tv = 0
        cdef TargetSet senders = self.senders, targets = self.targets
        if senders is not None:
            sv = senders._refresh(env, now)
            n = len(senders.tasks)
            if not n:
                return None
            i = <Py_ssize_t>(self.uniform.next() * n)
        if targets is not None:
            tv = targets._refresh(env, now)
            width = len(targets.tasks)
            if not width:
                return None
            if self.round_robin:
                j = self.turn % width
                self.turn += 1
            else:
                j = <Py_ssize_t>(self.uniform.next() * width)
        if sv != self._sv or tv != self._tv:
            self._sv = sv
            self._tv = tv
            self._table = [None] * (width * n)
        k = i * width + j
        r = self._table[k]
        if r is None:
            if env is not None:
                env._now = now
            r = self.resolve(None if senders is None else senders.tasks[i],
                             None if targets is None else targets.tasks[j])
            self._table[k] = _UNREACHABLE if r is None else r
        return None if r is _UNREACHABLE else r


cdef class SourceCore:
    """The per-packet part of a source, in the loop (see the pure-Python ``SourceCore``):
    set the clock, pick the route (a :class:`Choice` in C, any other ``pick()`` in
    Python), send the packet, schedule the next one."""

    cdef public object env
    cdef public object engine
    cdef public PacketLoop loop
    cdef public object stats
    cdef public object size
    cdef public object pick
    cdef public object gap
    cdef public double start
    cdef public double rate
    cdef public double stop
    cdef public double max_packets
    cdef public long long emitted
    cdef public long long i
    cdef EngineCore _engine
    cdef FlowCore _stats
    cdef Choice _choice
    cdef bint _poisson

    def __init__(self, env, engine, stats, size, pick, gap, double start, double rate,
                 double stop, double max_packets, long long i):
        self.env = env
        self.engine = engine
        self._engine = <EngineCore?>engine
        self.loop = self._engine.loop
        self.stats = stats
        self._stats = <FlowCore?>stats
        self.size = size
        self.pick = pick
        self._choice = pick if type(pick) is Choice else None
        self.gap = gap
        self._poisson = gap is not None
        self.start = start
        self.rate = rate
        self.stop = stop
        self.max_packets = max_packets
        self.emitted = 0
        self.i = i

    def begin(self, double first):
        """Schedule the first packet at ``first`` (none if past ``stop`` or no packets)."""
        if first < self.stop and self.max_packets > 0:
            self.loop.push(first, self, None)

    def __call__(self, p, double now):
        self.fire(now)

    cdef int _emit(self, double t) except -1:
        self.emitted += 1
        if self._choice is not None:
            route = self._choice._route_at(self.env, t)
        else:
            self.env._now = t  # what the pick sees
            route = self.pick()
        self.loop._rebound()
        if route is None:
            self._engine._unreachable(self._stats, t)
        else:
            self._engine._send(route, self.size, t, None)
        return 0

    cdef int fire(self, double now) except -1:
        cdef double t
        self._emit(now)
        if self.emitted < self.max_packets:
            if self._poisson:
                gap = self.gap
                if type(gap) is Draws:
                    t = now + (<Draws>gap).next()
                else:
                    t = now + <double>gap()
            else:
                self.i += 1
                t = self.start + <double>self.i / self.rate
            if t < self.stop:
                self.loop.push(t, self, None)
        return 0
