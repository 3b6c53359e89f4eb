// SPDX-License-Identifier: GPL-2.0-only
/*
 * The capture driver: system calls, process exits and forks recorded from tracepoints into per-CPU
 * ring buffers, read by userspace through one mmap-able device per CPU.
 *
 * One consumer at a time owns the buffers: the first open of any device allocates them and starts the
 * probes, the last close stops them and frees everything. A second process opening while a capture
 * runs is refused with -EBUSY, so two readers never race on the tails.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/fs.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/slab.h>
#include <linux/percpu.h>
#include <linux/cpumask.h>
#include <linux/sched.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>
#include <linux/timekeeping.h>
#include <linux/version.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/sched/cputime.h>
#include <linux/compat.h>
#include <linux/binfmts.h>
#include <asm/syscall.h>

#include "driver_config.h"
#include "ppm_events_public.h"
#include "ppm_events.h"
#include "ppm_ioctl.h"
#include "ppm_ringbuffer.h"

MODULE_LICENSE("GPL");
MODULE_AUTHOR("the falco-capture authors");
MODULE_DESCRIPTION("System call capture for the libs kmod interface");
MODULE_VERSION(DRIVER_VERSION);

static unsigned int ring_buffer_size = 8 * 1024 * 1024;
module_param(ring_buffer_size, uint, 0444);
MODULE_PARM_DESC(ring_buffer_size, "Bytes per CPU ring buffer, a power of two multiple of the page size");

struct ppm_ring {
	struct ppm_ring_buffer_info *info;	/* one page, mapped by readers */
	char *buffer;				/* ring_buffer_size bytes, mapped twice in a row */
	char *scratch;				/* where an event is built before it is copied in */
	int busy;				/* set while this CPU records an event */
	bool open;
};

struct ppm_device {
	struct cdev cdev;
	dev_t dev;
};

static struct ppm_device *g_devs;
static unsigned int g_ndevs;
static int g_major;
static struct class *g_class;

static DEFINE_MUTEX(g_lock);
static struct ppm_ring __percpu *g_rings;
static struct task_struct *g_owner;	/* the consumer's group leader */
static unsigned int g_opens;
static bool g_capturing;
static u32 g_snaplen = 80;
static DECLARE_BITMAP(g_events_mask, PPM_EVENT_MAX);
static bool g_probes_registered;

static struct tracepoint *tp_sys_enter, *tp_sys_exit, *tp_process_exit, *tp_process_fork,
	*tp_process_exec;

/* --- recording --- */

/* Copies a finished event into the CPU's ring, wrapping around the end. */
static void ring_put(struct ppm_ring *ring, const char *ev, u32 len)
{
	struct ppm_ring_buffer_info *info = ring->info;
	u32 head = info->head;
	u32 tail = READ_ONCE(info->tail);
	u32 free = tail > head ? tail - head - 1 : ring_buffer_size - head + tail - 1;
	u32 first;

	if (len > free) {
		info->n_drops_buffer++;
		return;
	}
	first = min(len, ring_buffer_size - head);
	memcpy(ring->buffer + head, ev, first);
	if (first < len)
		memcpy(ring->buffer, ev + first, len - first);
	/* The event must be complete before the reader can see the new head. */
	smp_wmb();
	WRITE_ONCE(info->head, (head + len) % ring_buffer_size);
}

static struct ppm_ring *ring_enter(void)
{
	struct ppm_ring *ring;

	if (!READ_ONCE(g_capturing) || !g_rings)
		return NULL;
	ring = this_cpu_ptr(g_rings);
	if (!ring->info)
		return NULL;
	/*
	 * Probes can nest on a CPU (an interrupt or a page fault inside a probe's user copy); the inner one
	 * drops its event. Only this CPU touches its counter, so an interrupt-safe per-CPU increment does,
	 * without the bus lock of an atomic.
	 */
	if (this_cpu_inc_return(g_rings->busy) != 1) {
		this_cpu_dec(g_rings->busy);
		ring->info->n_preemptions++;
		return NULL;
	}
	return ring;
}

static void ring_exit(struct ppm_ring *ring)
{
	this_cpu_dec(g_rings->busy);
}

/*
 * Records one event of the current task's system call (`ctx`), or, without one, an event about `task`:
 * its exit, or its creation seen from its parent.
 */
static void record(u16 type, const struct syscall_ctx *ctx, struct task_struct *task)
{
	struct event_builder b;
	struct ppm_ring *ring;
	u32 len;

	if (type >= PPM_EVENT_MAX || !test_bit(type, g_events_mask))
		return;
	preempt_disable();
	ring = ring_enter();
	if (!ring)
		goto out;
	ring->info->n_evts++;
	b.buf = ring->scratch;
	b.size = PPM_SCRATCH_SIZE;
	b.snaplen = READ_ONCE(g_snaplen);
	eb_start(&b, type, ktime_get_real_ns(), task ? task->pid : current->pid);
	if (type == PPME_PROCEXIT_1_E)
		fill_task_exit(&b, task);
	else if (task)
		fill_clone_child(&b, task);
	else
		fill_event(&b, ctx);
	len = eb_finish(&b);
	if (b.faulted)
		ring->info->n_drops_pf++;
	ring_put(ring, b.buf, len);
	ring_exit(ring);
out:
	preempt_enable();
}

/*
 * Generic events are most of what a busy system records and have one fixed shape (the syscall's code,
 * and on entry its native number): they are built on the stack and copied in, without the event
 * builder's table walks. ppm_init() checks that the schema still gives them that shape.
 */
#define GENERIC_E_NPARAMS 2
#define GENERIC_X_NPARAMS 1

static void record_generic(bool enter, long id)
{
	struct {
		struct ppm_evt_hdr hdr;
		u16 words[2 * GENERIC_E_NPARAMS];	/* parameter lengths, then values */
	} __packed ev;
	u16 type = enter ? PPME_GENERIC_E : PPME_GENERIC_X;
	u16 code = syscall_code(id);
	struct ppm_ring *ring;

	if (!test_bit(type, g_events_mask))
		return;
	if (enter) {
		ev.hdr.nparams = GENERIC_E_NPARAMS;
		ev.words[0] = sizeof(u16);
		ev.words[1] = sizeof(u16);
		ev.words[2] = code;
		ev.words[3] = id;
	} else {
		ev.hdr.nparams = GENERIC_X_NPARAMS;
		ev.words[0] = sizeof(u16);
		ev.words[1] = code;
	}
	ev.hdr.len = sizeof(ev.hdr) + 2 * ev.hdr.nparams * sizeof(u16);
	ev.hdr.type = type;
	ev.hdr.tid = current->pid;
	preempt_disable();
	ring = ring_enter();
	if (ring) {
		ring->info->n_evts++;
		ev.hdr.ts = ktime_get_real_ns();
		ring_put(ring, (const char *)&ev, ev.hdr.len);
		ring_exit(ring);
	}
	preempt_enable();
}

/* The consumer's own system calls would feed back into the capture: skip them. */
static bool is_consumer(void)
{
	struct task_struct *owner = READ_ONCE(g_owner);

	return owner && current->tgid == owner->tgid;
}

static u16 route(long id, bool enter)
{
	const struct syscall_evt_pair *pair;

	if (id < 0 || id >= SYSCALL_TABLE_SIZE)
		return enter ? PPME_GENERIC_E : PPME_GENERIC_X;
	pair = &g_syscall_table[id];
	if (!(pair->flags & UF_USED))
		return enter ? PPME_GENERIC_E : PPME_GENERIC_X;
	return enter ? pair->enter_event_type : pair->exit_event_type;
}

/* Generic events carry only the syscall's number: their arguments are not read. */
static void probe_sys_enter(void *data, struct pt_regs *regs, long id)
{
	struct syscall_ctx ctx = { .regs = regs, .id = id };
	u16 type;

	if (!READ_ONCE(g_capturing) || is_consumer() || in_compat_syscall())
		return;
	type = route(id, true);
	if (type == PPME_GENERIC_E) {
		record_generic(true, id);
		return;
	}
	syscall_get_arguments(current, regs, ctx.args);
	record(type, &ctx, NULL);
}

static void probe_sys_exit(void *data, struct pt_regs *regs, long ret)
{
	struct syscall_ctx ctx = { .regs = regs, .ret = ret };
	u16 type;

	if (!READ_ONCE(g_capturing) || is_consumer() || in_compat_syscall())
		return;
	ctx.id = syscall_get_nr(current, regs);
	type = route(ctx.id, false);
	if (type == PPME_GENERIC_X) {
		record_generic(false, ctx.id);
		return;
	}
	syscall_get_arguments(current, regs, ctx.args);
	record(type, &ctx, NULL);
}

static void probe_process_exit(void *data, struct task_struct *p)
{
	if (is_consumer())
		return;
	record(PPME_PROCEXIT_1_E, NULL, p);
}

/*
 * A child forked by a system call reports its own clone exit when it first returns through sys_exit.
 * A user-mode task that a kernel thread creates (call_usermodehelper, for modprobe, core dump pipes,
 * hotplug helpers) is made by no system call: it is recorded here, from its parent's side, so that
 * userspace learns of it before its first event. Kernel threads themselves are not recorded.
 */
static void probe_process_fork(void *data, struct task_struct *parent, struct task_struct *child)
{
	if (!READ_ONCE(g_capturing) || !(parent->flags & PF_KTHREAD) || (child->flags & PF_KTHREAD))
		return;
	record(PPME_SYSCALL_CLONE_20_X, NULL, child);
}

/*
 * An exec outside the execve and execveat system calls (kernel_execve(), how user-mode helpers start
 * their program) has no sys_exit of its own: it is recorded here as that call's exit, successful. The
 * helper then leaves the kernel through ret_from_fork without a sys_exit event (seen on 6.1 and 6.12).
 */
static void probe_process_exec(void *data, struct task_struct *p, pid_t old_pid,
			       struct linux_binprm *bprm)
{
	struct syscall_ctx ctx = { .regs = task_pt_regs(current), .ret = 0 };
	long nr;

	if (!READ_ONCE(g_capturing) || is_consumer() || in_compat_syscall())
		return;
	nr = syscall_get_nr(current, ctx.regs);
	if (nr == __NR_execve || nr == __NR_execveat)
		return;
	ctx.id = __NR_execve;
	record(PPME_SYSCALL_EXECVE_19_X, &ctx, NULL);
}

static void find_tracepoint(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sys_enter"))
		tp_sys_enter = tp;
	else if (!strcmp(tp->name, "sys_exit"))
		tp_sys_exit = tp;
	else if (!strcmp(tp->name, "sched_process_exit"))
		tp_process_exit = tp;
	else if (!strcmp(tp->name, "sched_process_fork"))
		tp_process_fork = tp;
	else if (!strcmp(tp->name, "sched_process_exec"))
		tp_process_exec = tp;
}

static int register_probes(void)
{
	int ret;

	if (g_probes_registered)
		return 0;
	ret = tracepoint_probe_register(tp_sys_enter, probe_sys_enter, NULL);
	if (ret)
		return ret;
	ret = tracepoint_probe_register(tp_sys_exit, probe_sys_exit, NULL);
	if (ret)
		goto err_exit;
	ret = tracepoint_probe_register(tp_process_exit, probe_process_exit, NULL);
	if (ret)
		goto err_process_exit;
	ret = tracepoint_probe_register(tp_process_fork, probe_process_fork, NULL);
	if (ret)
		goto err_fork;
	ret = tracepoint_probe_register(tp_process_exec, probe_process_exec, NULL);
	if (ret)
		goto err_exec;
	g_probes_registered = true;
	return 0;
err_exec:
	tracepoint_probe_unregister(tp_process_fork, probe_process_fork, NULL);
err_fork:
	tracepoint_probe_unregister(tp_process_exit, probe_process_exit, NULL);
err_process_exit:
	tracepoint_probe_unregister(tp_sys_exit, probe_sys_exit, NULL);
err_exit:
	tracepoint_probe_unregister(tp_sys_enter, probe_sys_enter, NULL);
	return ret;
}

static void unregister_probes(void)
{
	if (!g_probes_registered)
		return;
	tracepoint_probe_unregister(tp_process_exec, probe_process_exec, NULL);
	tracepoint_probe_unregister(tp_process_fork, probe_process_fork, NULL);
	tracepoint_probe_unregister(tp_process_exit, probe_process_exit, NULL);
	tracepoint_probe_unregister(tp_sys_exit, probe_sys_exit, NULL);
	tracepoint_probe_unregister(tp_sys_enter, probe_sys_enter, NULL);
	/* No probe may still run on the buffers about to be freed. */
	tracepoint_synchronize_unregister();
	g_probes_registered = false;
}

/* --- buffers --- */

static void free_rings(void)
{
	int cpu;

	if (!g_rings)
		return;
	for_each_possible_cpu(cpu) {
		struct ppm_ring *ring = per_cpu_ptr(g_rings, cpu);

		vfree(ring->info);
		vfree(ring->buffer);
		vfree(ring->scratch);
	}
	free_percpu(g_rings);
	g_rings = NULL;
}

static int alloc_rings(void)
{
	int cpu;

	g_rings = alloc_percpu(struct ppm_ring);
	if (!g_rings)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct ppm_ring *ring = per_cpu_ptr(g_rings, cpu);

		ring->info = vmalloc_user(PAGE_SIZE);
		ring->buffer = vmalloc_user(ring_buffer_size);
		ring->scratch = vmalloc(PPM_SCRATCH_SIZE);
		ring->busy = 0;
		if (!ring->info || !ring->buffer || !ring->scratch) {
			free_rings();
			return -ENOMEM;
		}
	}
	return 0;
}

/* --- device --- */

static int ppm_open(struct inode *inode, struct file *filp)
{
	int cpu = iminor(inode);
	struct ppm_ring *ring;
	int ret = 0;

	if (cpu >= nr_cpu_ids || !cpu_online(cpu))
		return -ENODEV;
	mutex_lock(&g_lock);
	if (g_owner && g_owner->tgid != current->tgid) {
		ret = -EBUSY;
		goto out;
	}
	if (!g_rings) {
		ret = alloc_rings();
		if (ret)
			goto out;
		bitmap_fill(g_events_mask, PPM_EVENT_MAX);
		g_snaplen = 80;
	}
	ring = per_cpu_ptr(g_rings, cpu);
	if (ring->open) {
		ret = -EBUSY;
		goto out;
	}
	ring->open = true;
	ring->info->head = 0;
	ring->info->tail = 0;
	ring->info->n_evts = 0;
	ring->info->n_drops_buffer = 0;
	ring->info->n_drops_pf = 0;
	ring->info->n_preemptions = 0;
	ring->info->n_context_switches = 0;
	if (!g_opens++) {
		get_task_struct(current->group_leader);
		g_owner = current->group_leader;
		ret = register_probes();
		if (ret) {
			g_opens--;
			ring->open = false;
			put_task_struct(g_owner);
			g_owner = NULL;
			free_rings();
		}
	}
out:
	mutex_unlock(&g_lock);
	return ret;
}

static int ppm_release(struct inode *inode, struct file *filp)
{
	int cpu = iminor(inode);

	mutex_lock(&g_lock);
	if (g_rings)
		per_cpu_ptr(g_rings, cpu)->open = false;
	if (g_opens && !--g_opens) {
		WRITE_ONCE(g_capturing, false);
		unregister_probes();
		free_rings();
		put_task_struct(g_owner);
		g_owner = NULL;
	}
	mutex_unlock(&g_lock);
	return 0;
}

/* Every thread with its CPU times, for consumers that seed their process table from the driver. */
static long get_proclist(unsigned long arg)
{
	struct ppm_proclist_info __user *user = (struct ppm_proclist_info __user *)arg;
	struct ppm_proclist_info head;
	struct ppm_proc_info *entries;
	struct task_struct *p, *t;
	s64 n = 0;
	long ret = 0;

	if (copy_from_user(&head, user, sizeof(head)))
		return -EFAULT;
	if (head.max_entries < 0 || head.max_entries > 1000000)
		return -EINVAL;
	entries = vmalloc(array_size(max_t(s64, head.max_entries, 1), sizeof(*entries)));
	if (!entries)
		return -ENOMEM;
	rcu_read_lock();
	for_each_process_thread(p, t) {
		if (n < head.max_entries) {
			u64 utime, stime;

			task_cputime_adjusted(t, &utime, &stime);
			entries[n].pid = t->pid;
			entries[n].utime = div_u64(utime, NSEC_PER_SEC / USER_HZ);
			entries[n].stime = div_u64(stime, NSEC_PER_SEC / USER_HZ);
		}
		n++;
	}
	rcu_read_unlock();
	head.n_entries = n;
	if (copy_to_user(user, &head, sizeof(head)) ||
	    copy_to_user(user->entries, entries, min(n, head.max_entries) * sizeof(*entries)))
		ret = -EFAULT;
	else if (n > head.max_entries)
		ret = -ENOSPC;
	vfree(entries);
	return ret;
}

static long ppm_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	u64 __user *out = (u64 __user *)arg;
	long ret = 0;

	if (cmd == PPM_IOCTL_GET_PROCLIST)
		return get_proclist(arg);
	mutex_lock(&g_lock);
	switch (cmd) {
	case PPM_IOCTL_ENABLE_CAPTURE:
		WRITE_ONCE(g_capturing, true);
		break;
	case PPM_IOCTL_DISABLE_CAPTURE:
		WRITE_ONCE(g_capturing, false);
		break;
	case PPM_IOCTL_SET_SNAPLEN:
		if (arg > 65000)
			ret = -EINVAL;
		else
			WRITE_ONCE(g_snaplen, arg);
		break;
	case PPM_IOCTL_MASK_ZERO_EVENTS:
		bitmap_zero(g_events_mask, PPM_EVENT_MAX);
		break;
	case PPM_IOCTL_MASK_SET_EVENT:
	case PPM_IOCTL_MASK_UNSET_EVENT:
		if (arg >= PPM_EVENT_MAX)
			ret = -EINVAL;
		else if (cmd == PPM_IOCTL_MASK_SET_EVENT)
			set_bit(arg, g_events_mask);
		else
			clear_bit(arg, g_events_mask);
		break;
	case PPM_IOCTL_GET_API_VERSION:
		ret = put_user(PPM_VERSION_PACK(PPM_API_CURRENT_VERSION_MAJOR, PPM_API_CURRENT_VERSION_MINOR,
						PPM_API_CURRENT_VERSION_PATCH), out);
		break;
	case PPM_IOCTL_GET_SCHEMA_VERSION:
		ret = put_user(PPM_VERSION_PACK(PPM_SCHEMA_CURRENT_VERSION_MAJOR, PPM_SCHEMA_CURRENT_VERSION_MINOR,
						PPM_SCHEMA_CURRENT_VERSION_PATCH), out);
		break;
	case PPM_IOCTL_GET_CURRENT_TID:
		ret = task_pid_nr(current);
		break;
	case PPM_IOCTL_GET_CURRENT_PID:
		ret = task_tgid_nr(current);
		break;
	case PPM_IOCTL_GET_VTID:
	case PPM_IOCTL_GET_VPID: {
		struct pid *pid = find_get_pid(arg);

		if (!pid) {
			ret = -EINVAL;
			break;
		}
		ret = pid_vnr(pid);
		put_pid(pid);
		break;
	}
	case PPM_IOCTL_DISABLE_DROPPING_MODE:
	case PPM_IOCTL_ENABLE_DROPPING_MODE:
	case PPM_IOCTL_DISABLE_DYNAMIC_SNAPLEN:
	case PPM_IOCTL_ENABLE_DYNAMIC_SNAPLEN:
	case PPM_IOCTL_DISABLE_SIGNAL_DELIVER:
	case PPM_IOCTL_ENABLE_SIGNAL_DELIVER:
	case PPM_IOCTL_SET_TRACERS_CAPTURE:
	case PPM_IOCTL_SET_SIMPLE_MODE:
	case PPM_IOCTL_SET_FULLCAPTURE_PORT_RANGE:
	case PPM_IOCTL_SET_STATSD_PORT:
		/* Accepted so existing consumers start; this driver has no such modes. */
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	mutex_unlock(&g_lock);
	return ret;
}

/*
 * Offset 0 with a length of at most a page maps the info page; a length of twice the buffer maps the
 * buffer two times back to back, so an event that wraps around the end reads as one run of bytes.
 */
static int ppm_mmap(struct file *filp, struct vm_area_struct *vma)
{
	int cpu = iminor(file_inode(filp));
	unsigned long length = vma->vm_end - vma->vm_start;
	struct ppm_ring *ring;
	unsigned long addr = vma->vm_start;
	int ret = 0;
	int copy;

	if (vma->vm_pgoff != 0)
		return -EINVAL;
	mutex_lock(&g_lock);
	if (!g_rings) {
		ret = -ENODEV;
		goto out;
	}
	ring = per_cpu_ptr(g_rings, cpu);
	if (length <= PAGE_SIZE) {
		ret = remap_pfn_range(vma, addr, vmalloc_to_pfn(ring->info), PAGE_SIZE, vma->vm_page_prot);
		goto out;
	}
	if (length != 2UL * ring_buffer_size || (vma->vm_flags & VM_WRITE)) {
		ret = -EINVAL;
		goto out;
	}
	for (copy = 0; copy < 2; copy++) {
		unsigned long off;

		for (off = 0; off < ring_buffer_size; off += PAGE_SIZE) {
			ret = remap_pfn_range(vma, addr, vmalloc_to_pfn(ring->buffer + off), PAGE_SIZE,
					      vma->vm_page_prot);
			if (ret)
				goto out;
			addr += PAGE_SIZE;
		}
	}
out:
	mutex_unlock(&g_lock);
	return ret;
}

static const struct file_operations ppm_fops = {
	.owner = THIS_MODULE,
	.open = ppm_open,
	.release = ppm_release,
	.unlocked_ioctl = ppm_ioctl,
	.mmap = ppm_mmap,
};

static char *ppm_devnode(const struct device *dev, umode_t *mode)
{
	if (mode)
		*mode = 0400;
	return NULL;
}

/* 6.2 made struct class's devnode() take a const struct device. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
static char *ppm_devnode_compat(struct device *dev, umode_t *mode)
{
	return ppm_devnode(dev, mode);
}
#define PPM_DEVNODE ppm_devnode_compat
#else
#define PPM_DEVNODE ppm_devnode
#endif

static void destroy_devices(void)
{
	unsigned int i;

	for (i = 0; i < g_ndevs; i++) {
		device_destroy(g_class, g_devs[i].dev);
		cdev_del(&g_devs[i].cdev);
	}
	kfree(g_devs);
	g_devs = NULL;
	g_ndevs = 0;
}

static int __init ppm_init(void)
{
	dev_t dev;
	unsigned int cpu;
	int ret;

	if (ring_buffer_size < 2 * PAGE_SIZE || !is_power_of_2(ring_buffer_size)) {
		pr_err(DRIVER_NAME ": ring_buffer_size must be a power of two of at least two pages\n");
		return -EINVAL;
	}
	if (g_event_info[PPME_GENERIC_E].nparams != GENERIC_E_NPARAMS ||
	    g_event_info[PPME_GENERIC_X].nparams != GENERIC_X_NPARAMS) {
		pr_err(DRIVER_NAME ": the generic events' shape changed in the schema; update record_generic()\n");
		return -EINVAL;
	}
	for_each_kernel_tracepoint(find_tracepoint, NULL);
	if (!tp_sys_enter || !tp_sys_exit || !tp_process_exit || !tp_process_fork || !tp_process_exec) {
		pr_err(DRIVER_NAME ": the kernel lacks a needed tracepoint\n");
		return -ENOENT;
	}
	ret = alloc_chrdev_region(&dev, 0, nr_cpu_ids, DRIVER_DEVICE_NAME);
	if (ret)
		return ret;
	g_major = MAJOR(dev);
	/* 6.4 dropped class_create()'s owner argument. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
	g_class = class_create(THIS_MODULE, DRIVER_DEVICE_NAME);
#else
	g_class = class_create(DRIVER_DEVICE_NAME);
#endif
	if (IS_ERR(g_class)) {
		ret = PTR_ERR(g_class);
		goto err_region;
	}
	g_class->devnode = PPM_DEVNODE;
	g_devs = kcalloc(nr_cpu_ids, sizeof(*g_devs), GFP_KERNEL);
	if (!g_devs) {
		ret = -ENOMEM;
		goto err_class;
	}
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct device *d;

		g_devs[cpu].dev = MKDEV(g_major, cpu);
		cdev_init(&g_devs[cpu].cdev, &ppm_fops);
		ret = cdev_add(&g_devs[cpu].cdev, g_devs[cpu].dev, 1);
		if (ret)
			goto err_devs;
		d = device_create(g_class, NULL, g_devs[cpu].dev, NULL, DRIVER_DEVICE_NAME "%u", cpu);
		if (IS_ERR(d)) {
			cdev_del(&g_devs[cpu].cdev);
			ret = PTR_ERR(d);
			goto err_devs;
		}
		g_ndevs++;
	}
	pr_info(DRIVER_NAME ": loaded, version " DRIVER_VERSION ", %u devices\n", g_ndevs);
	return 0;
err_devs:
	destroy_devices();
err_class:
	class_destroy(g_class);
err_region:
	unregister_chrdev_region(MKDEV(g_major, 0), nr_cpu_ids);
	return ret;
}

static void __exit ppm_exit(void)
{
	destroy_devices();
	class_destroy(g_class);
	unregister_chrdev_region(MKDEV(g_major, 0), nr_cpu_ids);
	pr_info(DRIVER_NAME ": unloaded\n");
}

module_init(ppm_init);
module_exit(ppm_exit);
