//! Coalescing: the points of one device are read with as few requests as the
//! protocol allows. Computed once when the source is built.

use super::decode::Table;

/// What the planner needs to know of a point.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub table: Table,
    pub address: u16,
    /// Registers (or bits) it occupies.
    pub width: u16,
}

/// One read: `count` items of `table` from `start`, covering `points` (indexes
/// into the planner's input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    pub table: Table,
    pub start: u16,
    pub count: u16,
    pub points: Vec<usize>,
}

/// Groups points by table and address; neighbours share a request while the
/// request stays within `max_per_request` items (and the protocol limit) and the
/// unused gap between two points is at most `max_gap` items (reading a few unused
/// registers is cheaper than another round trip, but some devices refuse addresses
/// they do not map). A point is never split: one wider than the limit gets a
/// request of its own.
pub fn plan(points: &[Span], max_gap: u16, max_per_request: u16) -> Vec<ReadRequest> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| (points[i].table, points[i].address));
    let mut out: Vec<ReadRequest> = Vec::new();
    for i in order {
        let p = points[i];
        let end = u32::from(p.address) + u32::from(p.width);
        if let Some(r) = out.last_mut() {
            let r_end = u32::from(r.start) + u32::from(r.count);
            let fits = r.table == p.table
                && u32::from(p.address) <= r_end + u32::from(max_gap)
                && end.max(r_end) - u32::from(r.start)
                    <= u32::from(p.table.max_per_request().min(max_per_request));
            if fits {
                r.count = (end.max(r_end) - u32::from(r.start)) as u16;
                r.points.push(i);
                continue;
            }
        }
        out.push(ReadRequest {
            table: p.table,
            start: p.address,
            count: p.width,
            points: vec![i],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(table: Table, address: u16, width: u16) -> Span {
        Span {
            table,
            address,
            width,
        }
    }

    #[test]
    fn neighbours_merge_gaps_split_and_tables_never_mix() {
        let points = [
            span(Table::Holding, 10, 2),
            span(Table::Holding, 0, 1),
            span(Table::Holding, 1, 2),
            span(Table::Input, 0, 2),
            span(Table::Holding, 40, 1),
            span(Table::Coil, 5, 1),
            span(Table::Coil, 7, 1),
        ];
        let r = plan(&points, 8, u16::MAX);
        assert_eq!(
            r,
            vec![
                ReadRequest {
                    table: Table::Holding,
                    start: 0,
                    count: 12,
                    points: vec![1, 2, 0]
                },
                ReadRequest {
                    table: Table::Holding,
                    start: 40,
                    count: 1,
                    points: vec![4]
                },
                ReadRequest {
                    table: Table::Input,
                    start: 0,
                    count: 2,
                    points: vec![3]
                },
                ReadRequest {
                    table: Table::Coil,
                    start: 5,
                    count: 3,
                    points: vec![5, 6]
                },
            ]
        );
        // No gap allowed: only touching points merge.
        assert_eq!(plan(&points, 0, u16::MAX).len(), 6);
        // A device that takes one item per request gets one request per point.
        assert_eq!(plan(&points, 8, 1).len(), points.len());
    }

    #[test]
    fn requests_respect_the_protocol_limits() {
        let regs: Vec<Span> = (0..300).map(|a| span(Table::Holding, a, 1)).collect();
        let r = plan(&regs, 0, u16::MAX);
        assert_eq!(
            r.iter().map(|x| x.count).collect::<Vec<_>>(),
            vec![125, 125, 50]
        );
        let bits: Vec<Span> = (0..4500).map(|a| span(Table::Coil, a, 1)).collect();
        assert_eq!(plan(&bits, 0, u16::MAX).len(), 3);
        // A 4-register value never straddles two requests.
        let wide: Vec<Span> = (0..40).map(|i| span(Table::Holding, i * 4, 4)).collect();
        assert!(plan(&wide, 0, u16::MAX)
            .iter()
            .all(|x| x.count % 4 == 0 && x.count <= 125));
    }
}
