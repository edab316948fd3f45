#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A serial executor backed by one dedicated OS thread, for actors that do blocking file I/O.
///
/// Swift's cooperative pool has one thread per core (two here); a `pwrite` or `fsync` on it
/// stalls every task in the process. Actors that own files (`PartitionLogActor`, the group
/// committer) therefore run on these threads instead, by returning one as their
/// `unownedExecutor`. Jobs run in FIFO order; the queue is unbounded in count, but each job is
/// an actor call whose caller awaits it, so the number of callers bounds it.
public final class IOThreadExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked: `queue` and `stopping` are only touched with `mutex` held, and the thread
    // handle is written once before any job can be enqueued.
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var queue: [UnownedJob] = []
    private var stopping = false
    private var thread = pthread_t()
    public let name: String

    public init(name: String) {
        self.name = name
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        let box = Unmanaged.passRetained(self)
        let result = pthread_create(&thread, nil, { raw in
            let executor = Unmanaged<IOThreadExecutor>.fromOpaque(raw!).takeRetainedValue()
            executor.runLoop()
            return nil
        }, box.toOpaque())
        precondition(result == 0, "pthread_create failed: \(result)")
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        pthread_mutex_lock(&mutex)
        precondition(!stopping, "job enqueued on stopped executor \(name)")
        queue.append(unowned)
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets the thread finish the jobs already queued and exit.
    public func shutdown() {
        pthread_mutex_lock(&mutex)
        stopping = true
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    private func runLoop() {
        var batch: [UnownedJob] = []
        while true {
            pthread_mutex_lock(&mutex)
            while queue.isEmpty && !stopping { pthread_cond_wait(&condition, &mutex) }
            if queue.isEmpty && stopping {
                pthread_mutex_unlock(&mutex)
                return
            }
            swap(&batch, &queue)
            pthread_mutex_unlock(&mutex)
            for job in batch { job.runSynchronously(on: asUnownedSerialExecutor()) }
            batch.removeAll(keepingCapacity: true)
        }
    }
}
