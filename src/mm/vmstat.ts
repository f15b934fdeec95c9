// Node vmstat items the model keeps (include/linux/mmzone.h enum node_stat_item, shown by
// mm/vmstat.c in /proc/vmstat). One node; the sum is what /proc/vmstat shows.

export const VMSTAT_ITEMS = [
  'nr_foll_pin_acquired',
  'nr_foll_pin_released',
  'pgmigrate_success',
  'pgmigrate_fail',
  'thp_split_pmd',
  'thp_split_page',
  'thp_fault_alloc',
  'nr_isolated_anon',
  'nr_isolated_file',
] as const;
export type VmstatItem = (typeof VMSTAT_ITEMS)[number];

const INDEX = new Map<VmstatItem, number>(VMSTAT_ITEMS.map((k, i) => [k, i]));

export class Vmstat {
  // Hot: every pin and unpin counts, so a typed array rather than a Map.
  private readonly v = new Float64Array(VMSTAT_ITEMS.length);
  static readonly PIN_ACQUIRED = 0;
  static readonly PIN_RELEASED = 1;

  mod(item: VmstatItem, delta: number): void {
    this.v[INDEX.get(item)!] += delta;
  }

  /** mod() by index, for the pin paths. */
  modIdx(i: number, delta: number): void {
    this.v[i] += delta;
  }

  get(item: VmstatItem): number {
    return this.v[INDEX.get(item)!];
  }

  snapshot(): Record<VmstatItem, number> {
    return Object.fromEntries(VMSTAT_ITEMS.map((k, i) => [k, this.v[i]])) as Record<VmstatItem, number>;
  }
}
