// Node vmstat items the model keeps (include/linux/mmzone.h enum node_stat_item, shown by
// mm/vmstat.c in /proc/vmstat). One node; the sum is what /proc/vmstat shows.

export const VMSTAT_ITEMS = [
  'nr_foll_pin_acquired',
  'nr_foll_pin_released',
  'pgmigrate_success',
  'pgmigrate_fail',
  'thp_split_pmd',
  'thp_fault_alloc',
  'nr_isolated_anon',
  'nr_isolated_file',
] as const;
export type VmstatItem = (typeof VMSTAT_ITEMS)[number];

export class Vmstat {
  private readonly v = new Map<VmstatItem, number>(VMSTAT_ITEMS.map((k) => [k, 0]));

  mod(item: VmstatItem, delta: number): void {
    this.v.set(item, (this.v.get(item) ?? 0) + delta);
  }

  get(item: VmstatItem): number {
    return this.v.get(item) ?? 0;
  }

  snapshot(): Record<VmstatItem, number> {
    return Object.fromEntries(this.v) as Record<VmstatItem, number>;
  }
}
